/**
 * The TRAILS_INFO a shell or a child gets: the gateway's endpoint and key
 * (from /healthz, which needs no signature), the tier, and the identity.
 */
import { validateConfig, TRAILS_INFO_VERSION, type TrailsConfig } from '../../client/config.js';
import type { SecLevel } from '../../protocol/frames.js';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';

export async function serverPubKey(ctx: CommandContext): Promise<string> {
  const h = await ctx.api.health();
  if (!h.server_pub_key) throw new CliError(`the gateway at ${ctx.api.serverUrl} did not say its public key (/healthz server_pub_key)`);
  return h.server_pub_key;
}

/** A config for `appId` on this gateway: the base of a child's TRAILS_INFO when the parent's own is not at hand. */
export async function gatewayConfig(ctx: CommandContext, appId: string, parentId: string | null, appName: string, secLevel: SecLevel): Promise<TrailsConfig> {
  return validateConfig({
    v: TRAILS_INFO_VERSION,
    appId,
    parentId,
    appName,
    serverEp: ctx.api.serverUrl,
    serverPubKey: await serverPubKey(ctx),
    secLevel,
    scheduledAt: ctx.now(),
    startDeadline: null,
    roleRefs: [],
    tags: null,
  });
}

export function shellQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}
