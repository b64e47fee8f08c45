/**
 * Claiming factory-fresh devices (addendum 0 §A0.3; docs/API.md "Bootstrap
 * and claims"). Every endpoint here is signed by the parent key the devices
 * were made with: an app principal whose registered key is the devices'
 * parentPubKey. The admin may list and release pins but not claim: a claim
 * is the parent proving it holds the key burned into the device.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import type { ProvisionPayload } from '../../protocol/bootstrap-frames.js';
import type { SecLevel } from '../../protocol/frames.js';
import type { BootstrapDeviceRow, BootstrapStatus } from '../store/bootstrap-types.js';
import type { ApiContext, RouteDef } from './context.js';
import { caller, lower } from './context.js';
import { ApiError, badRequest, conflict } from './errors.js';
import { checkEndpoint, checkKey } from './lifecycle-checks.js';
import { CloseCode } from '../../protocol/frames.js';
import * as S from './schemas.js';
import * as L from './schemas-lifecycle.js';

interface ClaimBody {
  parentId: string;
  childMac?: string;
  childPubKey?: string;
  appId: string;
  appName: string;
  roleRefs?: string[];
  newConfig?: { serverEp?: string; parentPubKey?: string; serverPubKey?: string; secLevel?: SecLevel };
}

type AppPrincipal = Extract<Principal, { kind: 'app' }>;

/** Claims and intents need the parent's own key: the admin key is not the one burned into devices. */
async function parentPrincipal(ctx: ApiContext, req: FastifyRequest, action: string): Promise<AppPrincipal> {
  const p = req.principal!;
  if (p.kind === 'app') return p;
  return ctx.refuse(req, action, null, 'sign with the parent key the devices know (as the app that holds it), not the admin key');
}

async function createIntent(ctx: ApiContext, req: FastifyRequest, reply: FastifyReply): Promise<object> {
  const p = await parentPrincipal(ctx, req, 'claim_intent');
  const ttlMs = ((req.body as { ttlSeconds?: number }).ttlSeconds ?? 0) * 1000 || ctx.hub.options.claimIntentTtlMs;
  const now = ctx.hub.now();
  const row = { parent_pub_key: p.key, app_id: p.appId, created_at: new Date(now).toISOString(), expires_at: new Date(now + ttlMs).toISOString() };
  const err = await commit(ctx, (w) => w.putClaimIntent(row));
  if (err) throw err;
  await ctx.audit(caller(req), { action: 'claim_intent', target: p.appId, outcome: 'registered', payload: { parent_pub_key: p.key, expires_at: row.expires_at } });
  reply.code(201);
  return { parent_pub_key: row.parent_pub_key, app_id: row.app_id, expires_at: row.expires_at };
}

async function deleteIntent(ctx: ApiContext, req: FastifyRequest): Promise<object> {
  const p = await parentPrincipal(ctx, req, 'claim_intent');
  let deleted = false;
  const err = await commit(ctx, (w) => void (deleted = w.deleteClaimIntent(p.key)));
  if (err) throw err;
  await ctx.audit(caller(req), { action: 'claim_intent', target: p.appId, outcome: deleted ? 'withdrawn' : 'not_found', payload: { parent_pub_key: p.key } });
  return { parent_pub_key: p.key, deleted };
}

async function listDevices(ctx: ApiContext, req: FastifyRequest): Promise<object> {
  const p = req.principal!;
  const status = (req.query as { status?: BootstrapStatus }).status;
  const devices = ctx.store.listBootstrapDevices({ ...(status ? { status } : {}), ...(p.kind === 'app' ? { parent_pub_key: p.key } : {}) });
  return { devices };
}

/**
 * Forgets what a claim intent caught and nobody claimed (docs/API.md
 * "Bootstrap and claims"): the signing parent key releases the unclaimed
 * rows of a MAC that named it, the admin any unclaimed row; ?childPubKey=
 * narrows it to one. Claimed rows are the pins and stay with their app.
 */
async function releasePin(ctx: ApiContext, req: FastifyRequest): Promise<object> {
  const mac = (req.params as { mac: string }).mac.toUpperCase();
  const only = (req.query as { childPubKey?: string }).childPubKey;
  const p = req.principal!;
  const all = ctx.store.bootstrapDevicesByMac(mac).filter((d) => only === undefined || d.child_pub_key === only);
  const mine = p.kind === 'app' ? all.filter((d) => d.parent_pub_key === p.key) : all;
  const audit = (outcome: string, rows: BootstrapDeviceRow[] = []) =>
    ctx.audit(caller(req), { action: 'release_pin', target: rows[0]?.claimed_app_id ?? null, outcome, payload: { mac, child_pub_keys: rows.map((d) => d.child_pub_key) } });
  if (all.length === 0) {
    await audit('not_found');
    throw new ApiError(404, 'not_found', `no device with MAC ${mac}${only ? ` and key ${only}` : ''} made first contact here`);
  }
  if (mine.length === 0) await ctx.refuse(req, 'release_pin', null, 'only the parent key a device named at first contact, or the admin, may release it');
  const free = mine.filter((d) => d.status !== 'claimed');
  if (free.length === 0) {
    await audit('conflict', mine);
    throw conflict(`device ${mac} is claimed as app ${mine[0]!.claimed_app_id}; its key stays pinned to that app`);
  }
  const err = await commit(ctx, (w) => free.forEach((d) => w.deleteBootstrapDevice(d.child_pub_key)));
  if (err) throw err;
  for (const d of free) ctx.hub.bootstrap.linkOf(d.child_pub_key)?.conn.close(CloseCode.bootstrapExpired, 'released');
  await audit('released', free);
  return { devices: free };
}

/** The row a claim names: by key, or by MAC among the rows that named the signer's key (ambiguous MACs are 409). */
async function claimedDevice(ctx: ApiContext, req: FastifyRequest, p: AppPrincipal, b: ClaimBody, audit: (o: string) => Promise<void>): Promise<BootstrapDeviceRow> {
  if ((b.childMac === undefined) === (b.childPubKey === undefined)) throw badRequest('name the device by exactly one of body/childMac or body/childPubKey');
  const appId = lower(b.appId);
  if (b.childPubKey !== undefined) {
    const device = ctx.store.getBootstrapDevice(b.childPubKey);
    if (!device) {
      await audit('not_found');
      throw new ApiError(404, 'not_found', 'no such device has made first contact with this gateway');
    }
    if (device.parent_pub_key !== p.key) await ctx.refuse(req, 'claim', appId, `device ${device.mac} accepts claims only from the key it was made with (its parent_pub_key)`);
    return device;
  }
  const mac = b.childMac!.toUpperCase();
  const all = ctx.store.bootstrapDevicesByMac(mac);
  if (all.length === 0) {
    await audit('not_found');
    throw new ApiError(404, 'not_found', 'no such device has made first contact with this gateway');
  }
  const mine = all.filter((d) => d.parent_pub_key === p.key);
  if (mine.length === 0) await ctx.refuse(req, 'claim', appId, `device ${mac} accepts claims only from the key it was made with (its parent_pub_key)`);
  const pinned = mine.find((d) => d.status === 'claimed');
  if (pinned) return pinned;
  const awaiting = mine.filter((d) => d.status === 'awaiting');
  if (awaiting.length > 1) {
    await audit('ambiguous');
    throw conflict(`${awaiting.length} keys presented MAC ${mac} with your parent key (${awaiting.map((d) => d.child_pub_key).join(', ')}): claim by body/childPubKey, and release the others`);
  }
  return awaiting[0] ?? mine[mine.length - 1]!;
}

async function claim(ctx: ApiContext, req: FastifyRequest, reply: FastifyReply): Promise<object> {
  const p = await parentPrincipal(ctx, req, 'claim');
  const b = req.body as ClaimBody;
  const appId = lower(b.appId);
  const parentId = lower(b.parentId);
  const audit = (outcome: string, extra: object = {}) =>
    ctx.audit(caller(req), { action: 'claim', target: appId, outcome, payload: { parent_id: parentId, child_mac: b.childMac ?? null, child_pub_key: b.childPubKey ?? null, ...extra } });
  const device = await claimedDevice(ctx, req, p, b, (o) => audit(o));
  const parent = ctx.store.getApp(parentId);
  if (!parent) {
    await audit('not_found');
    throw new ApiError(404, 'not_found', `parent ${parentId} is not known to this gateway`);
  }
  if (!ctx.rules.canRead(p, parentId)) await ctx.refuse(req, 'claim', appId, `parentId must be the signer or one of its descendants, not ${parentId}`);
  if (device.status === 'claimed') {
    if (device.claimed_app_id === appId && device.claimed_parent_id === parentId) {
      await audit('already_claimed');
      return claimResult(device); // idempotent: the same claim again is the same result
    }
    await audit('conflict');
    throw conflict(`device ${device.mac} is already claimed as app ${device.claimed_app_id} under ${device.claimed_parent_id}`);
  }
  if (device.status === 'expired') {
    await audit('conflict');
    throw conflict(`device ${device.mac} was not claimed in time; it must make first contact again`);
  }
  if (ctx.store.getApp(appId)) {
    await audit('conflict');
    throw conflict(`app ${appId} already exists`);
  }
  const payload = provisionPayload(ctx, b, device, appId, parentId);
  const out = await ctx.hub.bootstrap.claim({ device, claimedBy: `app:${p.appId}`, parent, appId, appName: b.appName, roleRefs: b.roleRefs ?? [], payload });
  if (!out.ok) {
    await audit('conflict');
    throw conflict(out.conflict);
  }
  await audit('claimed', { correlation_id: out.device.provision_correlation_id });
  // The pin is made here, where the owner proved its key: (mac, parent key) → this device key.
  await ctx.audit(caller(req), { action: 'pin', target: appId, outcome: 'pinned', payload: { mac: out.device.mac, child_pub_key: out.device.child_pub_key, parent_pub_key: p.key, released: out.released } });
  reply.code(201);
  return claimResult(out.device);
}

function provisionPayload(ctx: ApiContext, b: ClaimBody, device: BootstrapDeviceRow, appId: string, parentId: string): ProvisionPayload {
  const nc = b.newConfig ?? {};
  if (nc.serverEp !== undefined) checkEndpoint(nc.serverEp, 'body/newConfig/serverEp');
  if (nc.parentPubKey !== undefined) checkKey(nc.parentPubKey, 'body/newConfig/parentPubKey');
  if (nc.serverPubKey !== undefined) checkKey(nc.serverPubKey, 'body/newConfig/serverPubKey');
  // The TOFU pin means something only if every later frame proves the key: no open tier.
  const secLevel = nc.secLevel ?? 'signed';
  if (secLevel === 'open') throw badRequest('body/newConfig/secLevel must be signed or above: a claimed device signs every frame with its pinned key');
  return {
    appId, parentId, appName: b.appName,
    serverEp: nc.serverEp ?? null,
    parentPubKey: nc.parentPubKey ?? device.parent_pub_key,
    serverPubKey: nc.serverPubKey ?? ctx.hub.deps.identity.publicKeyText,
    secLevel, roleRefs: b.roleRefs ?? [], childPubKey: device.child_pub_key,
  };
}

function claimResult(d: BootstrapDeviceRow): object {
  return {
    app_id: d.claimed_app_id, parent_id: d.claimed_parent_id, mac: d.mac, child_pub_key: d.child_pub_key, status: d.status, claimed_at: d.claimed_at,
    provision: { correlation_id: d.provision_correlation_id, status: d.provision_status, payload: d.provision_json },
  };
}

function commit(ctx: ApiContext, op: Parameters<ApiContext['hub']['deps']['committer']['enqueue']>[0]): Promise<Error | undefined> {
  return new Promise((resolve) => ctx.hub.deps.committer.enqueue(op, resolve));
}

export const claimRoutes: RouteDef[] = [
  {
    method: 'POST', url: '/claim-intents', action: 'create_claim_intent', summary: 'Accept first contact from devices made with the signing key (their parentPubKey)',
    schema: { body: L.claimIntentBody, response: { 201: L.claimIntentResponse, ...S.errorResponses } },
    handler: createIntent,
  },
  {
    method: 'DELETE', url: '/claim-intents', action: 'delete_claim_intent', summary: "Withdraw the signing key's claim intent",
    schema: { response: { 200: L.intentDeleted, ...S.errorResponses } },
    handler: deleteIntent,
  },
  {
    method: 'GET', url: '/bootstrap-devices', action: 'list_bootstrap_devices', summary: 'Devices that made first contact (an app sees those made with its key)',
    schema: { querystring: L.bootstrapQuery, response: { 200: L.bootstrapDevicesResponse, ...S.errorResponses } },
    handler: listDevices,
  },
  {
    method: 'DELETE', url: '/bootstrap-devices/:mac', action: 'release_pin', summary: 'Release the unclaimed first contacts of a MAC that named the signing parent key (the admin: any); ?childPubKey= picks one',
    schema: { params: L.macParams, querystring: L.releaseQuery, response: { 200: L.bootstrapDevicesResponse, 409: S.errorSchema, ...S.errorResponses } },
    handler: releasePin,
  },
  {
    method: 'POST', url: '/claim', action: 'claim', summary: 'Claim a device awaiting claim: creates its app and sends it a provision (idempotent)',
    schema: { body: L.claimBody, response: { 200: L.claimResponse, 201: L.claimResponse, 409: S.errorSchema, ...S.errorResponses } },
    handler: claim,
  },
];
