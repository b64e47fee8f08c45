/** The TRAILS device client for Node (spec §24). */
export { TrailsClient, type ClientOptions, type ShutdownOptions } from './client.js';
export { TrailsConnection, type ConnectionOptions, type ConnectionState } from './connection.js';
export {
  decodeTrailsInfo,
  encodeTrailsInfo,
  validateConfig,
  childConfig,
  toWsUrl,
  TrailsConfigError,
  TRAILS_INFO_VERSION,
  type TrailsConfig,
  type Originator,
  type ChildOptions,
} from './config.js';
export type { ControlHandler, ControlContext, CancelHook, CancelContext } from './controls.js';
export type { ClientEvents, ClientState } from './events.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { wsTransport, type Transport, type TransportSocket, type TransportHandlers } from './transport.js';
export { MemoryTransport, MemorySocket } from './memory-transport.js';
export { consoleLogger, silentLogger, type TrailsLogger } from './log.js';
