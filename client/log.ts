/**
 * The client's logging port. A device library must never crash its host
 * process over telemetry, so everything that goes wrong is reported here
 * instead of thrown. The default writes warnings and errors to stderr only,
 * one line each: an app that never looks at TRAILS should not see chatter
 * from it, but should see why it is not reaching the gateway. Pass
 * `logger` (ClientOptions) to route the lines elsewhere, or silentLogger.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface TrailsLogger {
  debug(msg: string, extra?: object): void;
  info(msg: string, extra?: object): void;
  warn(msg: string, extra?: object): void;
  error(msg: string, extra?: object): void;
}

const noop = (): void => {};

export const silentLogger: TrailsLogger = { debug: noop, info: noop, warn: noop, error: noop };

/** One line: the message, then the extra fields as JSON (an object printed by console spreads over several lines). */
export function logLine(msg: string, extra?: object): string {
  let tail = '';
  if (extra && Object.keys(extra).length > 0) {
    try {
      tail = ` ${JSON.stringify(extra)}`;
    } catch {
      tail = '';
    }
  }
  return `trails: ${msg}${tail}`;
}

export const consoleLogger: TrailsLogger = {
  debug: noop,
  info: noop,
  warn: (msg, extra) => console.warn(logLine(msg, extra)),
  error: (msg, extra) => console.error(logLine(msg, extra)),
};

/** Wraps a user-supplied logger so that a throwing logger cannot break the client either. */
export function safeLogger(log: TrailsLogger): TrailsLogger {
  const wrap =
    (level: LogLevel) =>
    (msg: string, extra?: object): void => {
      try {
        log[level](msg, extra);
      } catch {
        /* a logger that throws is ignored, never propagated */
      }
    };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}
