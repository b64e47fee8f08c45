/**
 * The client's logging port. A device library must never crash its host
 * process over telemetry, so everything that goes wrong is reported here
 * instead of thrown. The default writes warnings and errors to stderr only:
 * an app that never looks at TRAILS should not see chatter from it.
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

export const consoleLogger: TrailsLogger = {
  debug: noop,
  info: noop,
  warn: (msg, extra) => console.warn(`trails: ${msg}`, ...(extra ? [extra] : [])),
  error: (msg, extra) => console.error(`trails: ${msg}`, ...(extra ? [extra] : [])),
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
