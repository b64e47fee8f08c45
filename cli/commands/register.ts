/**
 * `eval "$(trails register [--name NAME] [--parent ID])"`: registers this
 * shell as an app (a new key pair; the TypeScript client speaks for it from
 * a session agent, see agent/session-agent.ts) and prints the exports that
 * make the later commands act as it:
 *
 *   export TRAILS_APP_ID='…' TRAILS_APP_KEY='…' TRAILS_INFO='…'
 *
 * One line, so it evaluates the same with or without quotes around $(…).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { encodeTrailsInfo, validateConfig, withJoinToken, type TrailsConfig } from '../../client/config.js';
import { currentProcessInfo } from '../../client/process-info.js';
import { cliCrypto } from '../crypto.js';
import { SEC_LEVELS, type ProcessInfo, type SecLevel } from '../../protocol/frames.js';
import { str } from '../args.js';
import { ensureRuntimeDir, runtimeDir, socketPath } from '../agent/paths.js';
import type { CommandContext } from '../context.js';
import { usageError } from '../errors.js';
import type { Env } from '../settings.js';
import { maxPositionals, uuidArg, usageOf, type Command } from './common.js';
import { gatewayConfig, serverPubKey, shellQuote } from './trails-info.js';

const usage = usageOf('register');

export const register: Command = {
  name: 'register',
  spec: { name: 'string', parent: 'string', 'sec-level': 'string' },
  async run(p, ctx) {
    maxPositionals(p, 0, usage);
    const name = str(p, 'name');
    if (name !== undefined && (name.length === 0 || name.length > 256)) throw usageError('--name must be 1 to 256 characters', usage);
    const parentText = str(p, 'parent');
    const parent = parentText === undefined ? undefined : uuidArg(parentText, '--parent', usage);
    const tier = str(p, 'sec-level');
    if (tier !== undefined && !SEC_LEVELS.includes(tier as SecLevel)) throw usageError(`--sec-level must be one of ${SEC_LEVELS.join(', ')}, not "${tier}"`, usage);

    const config = await joined(ctx, await configFor(ctx, name, parent, tier as SecLevel | undefined));
    const keyPair = cliCrypto.ed25519.generateKeyPair();
    const seed = Buffer.from(keyPair.secretKey).toString('base64');
    const dir = ensureRuntimeDir(runtimeDir(ctx.settings.env));
    const ownerPid = ownerOf(ctx.settings.env, ctx.ownerPid);
    const { lastSeq } = await ctx.agents.launch({
      config,
      seed,
      socketPath: socketPath(dir, config.appId),
      ownerPid,
      processInfo: shellProcessInfo(ownerPid, ctx.settings.env, ctx.now()),
    });
    const trailsInfo = encodeTrailsInfo(config);
    if (ctx.settings.json) {
      ctx.out.json({ appId: config.appId, parentId: config.parentId, appName: config.appName, appKey: seed, trailsInfo, lastSeq });
    } else {
      ctx.out.out(`export TRAILS_APP_ID=${shellQuote(config.appId)} TRAILS_APP_KEY=${shellQuote(seed)} TRAILS_INFO=${shellQuote(trailsInfo)}`);
    }
    return 0;
  },
};

/**
 * Which app this shell is: the child a parent's TRAILS_INFO names (when it is
 * not already this shell's own), else a new app under --parent, or under
 * the app this shell already is, or a root.
 */
async function configFor(ctx: CommandContext, name: string | undefined, parent: string | undefined, tier: SecLevel | undefined): Promise<TrailsConfig> {
  const { info, appId: current } = ctx.settings;
  if (info && info.appId !== current) {
    if (parent !== undefined && parent !== info.parentId) throw usageError(`--parent ${parent} differs from the parent in TRAILS_INFO (${info.parentId ?? 'none'})`, usage);
    if (tier !== undefined && tier !== info.secLevel) throw usageError(`--sec-level ${tier} differs from the tier in TRAILS_INFO (${info.secLevel})`, usage);
    const key = info.serverPubKey ?? (info.secLevel === 'open' ? null : await serverPubKey(ctx));
    return validateConfig({ ...info, appName: name ?? info.appName, serverPubKey: key });
  }
  return gatewayConfig(ctx, randomUUID(), parent ?? current ?? null, name ?? 'shell', tier ?? 'signed');
}

/**
 * A new app needs its join token on a gated gateway (docs/PROTOCOL.md
 * "Registration gate"): asked for with this shell's key (the admin key, or
 * the app key when this shell is an app and the new one goes under it). A
 * TRAILS_INFO from `trails child-info` already carries one.
 */
async function joined(ctx: CommandContext, config: TrailsConfig): Promise<TrailsConfig> {
  if (new URL(config.serverEp).searchParams.has('join')) return config;
  try {
    const grant = await ctx.api.joinToken({ appId: config.appId, parentId: config.parentId ?? null });
    return { ...config, serverEp: withJoinToken(config.serverEp, grant.join_token) };
  } catch (e) {
    // A declared child needs none to register; otherwise the gateway's join_required says what is missing.
    if (ctx.settings.info?.appId === config.appId) return config;
    throw e;
  }
}

/** TRAILS_OWNER_PID (a number, or "none"), else the process that ran the CLI. */
function ownerOf(env: Env, fallback: number | null): number | null {
  const v = env.TRAILS_OWNER_PID;
  if (v === undefined || v === '') return fallback;
  if (v === 'none' || v === '0') return null;
  if (!/^\d{1,10}$/.test(v)) throw usageError(`TRAILS_OWNER_PID must be a process id or "none", not "${v}"`, usage);
  return Number(v);
}

/** The shell as the app's process: its pid and name, so `trails tree` shows bash@host:pid. */
function shellProcessInfo(pid: number | null, env: Env, now: number): ProcessInfo {
  let exe: string | null = null;
  if (pid !== null) {
    try {
      exe = readFileSync(`/proc/${pid}/comm`, 'utf8').trim() || null;
    } catch {
      exe = null;
    }
  }
  exe ??= env.SHELL ? basename(env.SHELL) : 'sh';
  // The client's own description, with the shell in place of this process.
  return { ...currentProcessInfo(env), pid, ppid: null, start_time: now, executable: exe };
}
