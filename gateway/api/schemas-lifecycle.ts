/**
 * JSON Schemas of the device-lifecycle endpoints (routes-claim.ts,
 * routes-lifecycle.ts): claim intents, claims, bootstrap devices, and the
 * system controls provision, rotate-keys and migrate. Same rules as
 * schemas.ts: no coercion, no unknown fields.
 */
import { SEC_LEVELS } from '../../protocol/frames.js';
import { controlAnswered, controlPending, dateTime, errorResponses, errorSchema, uuid } from './schemas.js';

const str = (maxLength = 256) => ({ type: 'string', minLength: 1, maxLength }) as const;
const nullable = (type: 'string' | 'integer') => ({ type: [type, 'null'] }) as const;
const anyJson = {} as const;
/** "ed25519:" + standard base64 of 32 bytes (checked strictly by the handler). */
const pubKey = { type: 'string', minLength: 52, maxLength: 64, pattern: '^ed25519:[A-Za-z0-9+/=]+$' } as const;
const mac = { type: 'string', maxLength: 17, pattern: '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$', description: 'AA:BB:CC:DD:EE:FF' } as const;
const endpoint = { type: 'string', minLength: 1, maxLength: 2048, description: 'ws://, wss://, http:// or https://' } as const;
const instant = { ...dateTime, description: 'RFC 3339' } as const;
const timeoutMs = { type: 'integer', minimum: 0, maximum: 600_000, description: 'how long to wait for the answer (default 10000)' } as const;
const roleRefs = { type: 'array', maxItems: 64, items: str() } as const;
const secLevel = { type: 'string', enum: [...SEC_LEVELS] } as const;

function object(properties: Record<string, unknown>, required: string[] = []) {
  return { type: 'object', properties, required, additionalProperties: false } as const;
}

// ── requests ─────────────────────────────────────────────────────────

export const claimIntentBody = object({ ttlSeconds: { type: 'integer', minimum: 1, maximum: 7 * 86_400, description: 'default 3600' } });

export const newConfig = object({ serverEp: endpoint, parentPubKey: pubKey, serverPubKey: pubKey, secLevel });

export const claimBody = object(
  { parentId: uuid, childMac: mac, childPubKey: pubKey, appId: uuid, appName: str(), roleRefs, newConfig },
  ['parentId', 'appId', 'appName'],
);

export const bootstrapQuery = object({ status: { type: 'string', enum: ['awaiting', 'claimed', 'expired'] } });
export const macParams = object({ mac }, ['mac']);
export const releaseQuery = object({ childPubKey: pubKey });

export const provisionBody = object({
  parentId: uuid, appName: str(), serverEp: endpoint, parentPubKey: pubKey, serverPubKey: pubKey, secLevel, roleRefs, timeoutMs,
});
export const rotateKeysBody = object({ newParentPubKey: pubKey, newServerPubKey: pubKey, newDeviceKey: { type: 'boolean' }, effectiveAfter: instant, timeoutMs }, ['effectiveAfter']);
export const migrateBody = object({ newServerEp: endpoint, newServerPubKey: pubKey, timeoutMs }, ['newServerEp', 'newServerPubKey']);
export const serverKeyRotateBody = object({ effectiveAfter: instant }, ['effectiveAfter']);

// ── responses ────────────────────────────────────────────────────────

export const claimIntentResponse = object({ parent_pub_key: { type: 'string' }, app_id: uuid, expires_at: { type: 'string' } }, ['parent_pub_key', 'app_id', 'expires_at']);
export const intentDeleted = object({ parent_pub_key: { type: 'string' }, deleted: { type: 'boolean' } }, ['parent_pub_key', 'deleted']);

export const bootstrapDeviceSchema = object(
  {
    child_pub_key: { type: 'string' }, mac: { type: 'string' }, chip: nullable('string'), firmware: nullable('string'), flash_id: nullable('string'),
    parent_pub_key: { type: 'string' }, status: { type: 'string' }, first_seen: { type: 'string' }, last_seen: { type: 'string' },
    expires_at: { type: 'string' }, remote: nullable('string'), claimed_app_id: nullable('string'), claimed_parent_id: nullable('string'),
    claimed_by: nullable('string'), claimed_at: nullable('string'), provision_json: anyJson, provision_correlation_id: nullable('string'),
    provision_status: nullable('string'),
  },
  ['child_pub_key', 'mac', 'parent_pub_key', 'status', 'first_seen', 'last_seen', 'expires_at'],
);
export const bootstrapDevicesResponse = object({ devices: { type: 'array', items: bootstrapDeviceSchema } }, ['devices']);

export const claimResponse = object(
  {
    app_id: uuid, parent_id: uuid, mac: { type: 'string' }, child_pub_key: { type: 'string' }, status: { type: 'string' },
    claimed_at: { type: 'string' },
    provision: object({ correlation_id: { type: 'string' }, status: { type: 'string' }, payload: anyJson }, ['correlation_id', 'status', 'payload']),
  },
  ['app_id', 'parent_id', 'mac', 'child_pub_key', 'status', 'claimed_at', 'provision'],
);

export const serverKeyResponse = object(
  { server_pub_key: { type: 'string' }, next_pub_key: nullable('string'), effective_after: nullable('string') },
  ['server_pub_key', 'next_pub_key', 'effective_after'],
);

/** The answer of a system control: as POST /control, plus what it changed here. */
export const systemControlResponses = { 200: controlAnswered, 504: controlPending, 409: errorSchema, ...errorResponses } as const;
