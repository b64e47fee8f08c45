/**
 * One JSON Schema per request part and response. Fastify validates requests
 * and serialises responses with them, and openapi.ts publishes the same
 * objects, so the document cannot drift from what the gateway does.
 *
 * Query strings are validated as strings (the gateway's ajv does not coerce,
 * so a body field is never silently turned from "5" into 5); the handlers
 * convert the few numeric and boolean ones after validation.
 */
import { APP_STATUSES } from '../store/sqlite/rows.js';

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

const str = (maxLength = 256) => ({ type: 'string', minLength: 1, maxLength }) as const;
const nullable = (type: 'string' | 'integer' | 'number') => ({ type: [type, 'null'] }) as const;
export const uuid = { type: 'string', maxLength: 36, pattern: UUID_PATTERN } as const;
/** Any JSON value (payloads are opaque to the gateway). */
const anyJson = {} as const;
const boolText = { type: 'string', enum: ['true', 'false'] } as const;
/** 1 … 10000, as text. */
const limitText = { type: 'string', pattern: '^(?:[1-9][0-9]{0,3}|10000)$', description: '1 to 10000' } as const;
const statusEnum = { type: 'string', enum: [...APP_STATUSES] } as const;
/**
 * RFC 3339 that Date can read: ajv's date-time also passes a leap second
 * (23:59:60), which Date.parse reads as NaN; the pattern refuses it, and the
 * length bounds the text.
 */
export const dateTime = {
  type: 'string',
  maxLength: 64,
  // format first, so that a malformed time is told as such; the pattern then only refuses second 60.
  allOf: [{ format: 'date-time' }, { pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-5][0-9]' }],
} as const;

function object(properties: Record<string, unknown>, required: string[] = []) {
  return { type: 'object', properties, required, additionalProperties: false } as const;
}

// ── shared shapes ────────────────────────────────────────────────────

export const errorSchema = object({ error: object({ code: { type: 'string' }, message: { type: 'string' } }, ['code', 'message']) }, ['error']);

export const appSchema = object(
  {
    app_id: uuid,
    parent_id: { type: ['string', 'null'] },
    app_name: { type: 'string' },
    namespace: nullable('string'),
    status: statusEnum,
    sec_level: nullable('string'),
    pub_key: nullable('string'),
    pod_name: nullable('string'),
    node_name: nullable('string'),
    pod_ip: nullable('string'),
    pid: nullable('integer'),
    ppid: nullable('integer'),
    executable: nullable('string'),
    proc_uid: nullable('integer'),
    proc_gid: nullable('integer'),
    proc_user: nullable('string'),
    originator_sub: nullable('string'),
    originator_groups: { type: ['array', 'null'], items: { type: 'string' } },
    role_refs: { type: ['array', 'null'], items: { type: 'string' } },
    metadata_json: anyJson,
    start_deadline: nullable('integer'),
    start_time: nullable('string'),
    connected_at: nullable('string'),
    disconnected_at: nullable('string'),
    server_instance: nullable('string'),
    last_seq: { type: 'integer' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
  ['app_id', 'parent_id', 'app_name', 'status', 'created_at', 'updated_at'],
);

export const messageSchema = object(
  {
    id: { type: 'integer' },
    app_id: uuid,
    direction: { type: 'string', enum: ['in', 'out'] },
    msg_type: { type: 'string', enum: ['Status', 'Result', 'Error', 'Control'] },
    seq: { type: 'integer' },
    correlation_id: nullable('string'),
    payload_json: anyJson,
    created_at: { type: 'string' },
  },
  ['id', 'app_id', 'direction', 'msg_type', 'seq', 'created_at'],
);

export const snapshotSchema = object(
  { id: { type: 'integer' }, app_id: uuid, namespace: nullable('string'), seq: { type: 'integer' }, snapshot_json: anyJson, created_at: { type: 'string' } },
  ['id', 'app_id', 'seq', 'created_at'],
);

export const crashSchema = object(
  {
    id: { type: 'integer' },
    app_id: uuid,
    detected_at: { type: 'string' },
    crash_type: { type: 'string', enum: ['connection_drop', 'heartbeat_timeout', 'never_started'] },
    gap_seconds: nullable('number'),
    metadata_json: anyJson,
  },
  ['id', 'app_id', 'detected_at', 'crash_type'],
);

// ── request parts ────────────────────────────────────────────────────

export const appIdParams = object({ appId: uuid }, ['appId']);

export const listAppsQuery = object({ status: statusEnum, namespace: str(), parent_id: uuid, limit: limitText });
export const childrenQuery = object({ recursive: boolText, status: statusEnum });
export const messagesQuery = object({ type: { type: 'string', enum: ['Status', 'Result', 'Error', 'Control'] }, limit: limitText });
export const limitQuery = object({ limit: limitText });
export const crashesQuery = object({ since: dateTime, app_id: uuid, limit: limitText });
export const cancelQuery = object({
  cascade: boolText,
  grace: { type: 'string', pattern: '^[0-9]{1,4}(?:\\.[0-9]{1,3})?$', description: 'seconds each level waits for acks, 0 to 3600 (default 30)' },
});

export const declareChildBody = object(
  {
    parentId: uuid,
    appId: uuid,
    appName: str(),
    startDeadline: { type: 'integer', minimum: 1, maximum: 604_800, description: 'seconds the child has to register' },
    secLevel: { type: 'string', enum: ['open', 'signed', 'full'] },
    roleRefs: { type: 'array', maxItems: 64, items: str() },
    tags: { type: 'object', maxProperties: 64, propertyNames: { maxLength: 256 } },
  },
  ['parentId', 'appId', 'appName', 'startDeadline'],
);

export const controlBody = object(
  {
    action: str(),
    payload: anyJson,
    timeoutMs: { type: 'integer', minimum: 0, maximum: 600_000, description: 'how long to wait for the answer (default 10000)' },
  },
  ['action'],
);

export const cancelBody = object({ reason: str(1024) });

// ── responses ────────────────────────────────────────────────────────

export const appsResponse = object({ apps: { type: 'array', items: appSchema } }, ['apps']);
export const childrenResponse = object({ app_id: uuid, recursive: { type: 'boolean' }, children: { type: 'array', items: appSchema } }, ['app_id', 'recursive', 'children']);
export const messagesResponse = object({ app_id: uuid, messages: { type: 'array', items: messageSchema } }, ['app_id', 'messages']);
export const snapshotsResponse = object({ app_id: uuid, snapshots: { type: 'array', items: snapshotSchema } }, ['app_id', 'snapshots']);
export const crashesResponse = object({ crashes: { type: 'array', items: crashSchema } }, ['crashes']);

export const controlAnswered = object(
  {
    status: { type: 'string', enum: ['answered'] },
    correlation_id: uuid,
    response: object({ ack: { type: 'boolean' }, result: anyJson, error: nullable('string') }, ['ack']),
  },
  ['status', 'correlation_id', 'response'],
);
export const controlPending = object(
  { status: { type: 'string', enum: ['timeout', 'expired', 'undeliverable'] }, correlation_id: uuid, message: { type: 'string' } },
  ['status', 'correlation_id'],
);

export const cascadeNode = object(
  {
    app_id: uuid,
    app_name: { type: 'string' },
    depth: { type: 'integer' },
    outcome: { type: 'string', enum: ['cancelled', 'force_killed', 'queued', 'already_terminal'] },
    ms: { type: 'integer' },
    status: statusEnum,
    correlation_id: { type: 'string' },
    response: anyJson,
  },
  ['app_id', 'app_name', 'depth', 'outcome', 'ms'],
);
export const cancelResponse = object(
  {
    root_app_id: uuid,
    cascade: { type: 'boolean' },
    grace_seconds: { type: 'number' },
    ms: { type: 'integer' },
    counts: object({ cancelled: { type: 'integer' }, force_killed: { type: 'integer' }, queued: { type: 'integer' }, already_terminal: { type: 'integer' } }),
    nodes: { type: 'array', items: cascadeNode },
  },
  ['root_app_id', 'cascade', 'grace_seconds', 'ms', 'nodes'],
);

/** The error responses every authenticated route can give. */
/** GET /health: the figures of /healthz (the disk's free space is null until it was first read). */
export const healthResponse = {
  type: 'object',
  required: ['connections', 'live_apps', 'disk'],
  properties: {
    connections: { type: 'integer' },
    live_apps: { type: 'integer' },
    server_pub_key: { type: 'string' },
    disk: {
      type: 'object',
      required: ['free_bytes', 'total_bytes', 'reserve_bytes', 'low_space'],
      properties: {
        free_bytes: { type: ['integer', 'null'] },
        total_bytes: { type: ['integer', 'null'] },
        reserve_bytes: { type: 'integer' },
        low_space: { type: 'boolean' },
      },
    },
  },
} as const;

export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  404: errorSchema,
  500: errorSchema,
  503: errorSchema,
} as const;
