/**
 * TRAILS_INFO for the device client: the envelope's format is the protocol's
 * (protocol/trails-info.ts, re-exported here); what is the client's own is
 * making a child's config, which draws a fresh app id.
 */
import { randomUUID } from 'node:crypto';
import type { JsonValue } from '../protocol/frames.js';
import { TRAILS_INFO_VERSION, validateConfig, withoutJoinToken, type TrailsConfig } from '../protocol/trails-info.js';

export * from '../protocol/trails-info.js';

export interface ChildOptions {
  appId?: string;
  startDeadline?: number | null;
  roleRefs?: string[];
  tags?: Record<string, JsonValue> | null;
  now?: number;
}

/** A config for a child of `parent`: new UUID v4, same gateway, key and tier (spec §6). */
export function childConfig(parent: TrailsConfig, name: string, opts: ChildOptions = {}): TrailsConfig {
  return validateConfig({
    v: TRAILS_INFO_VERSION,
    appId: opts.appId ?? randomUUID(),
    parentId: parent.appId,
    appName: name,
    serverEp: withoutJoinToken(parent.serverEp),
    serverPubKey: parent.serverPubKey ?? null,
    secLevel: parent.secLevel,
    scheduledAt: opts.now ?? Date.now(),
    startDeadline: opts.startDeadline === undefined ? (parent.startDeadline ?? null) : opts.startDeadline,
    originator: parent.originator ?? null,
    roleRefs: opts.roleRefs ?? [],
    tags: opts.tags ?? null,
  });
}
