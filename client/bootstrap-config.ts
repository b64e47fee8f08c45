/** TRAILS_INFO in bootstrap mode: the protocol's format (protocol/bootstrap-info.ts). */
export * from '../protocol/bootstrap-info.js';
