import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, loadConfig, usage } from '../../gateway/config.js';

describe('configuration', () => {
  it('defaults to ./data and 0.0.0.0:8443', () => {
    const c = loadConfig({}, []);
    expect(c).toMatchObject({ dataDir: resolve('data'), host: '0.0.0.0', port: 8443, maxFrameBytes: 65536 });
  });

  it('layers environment under flags', () => {
    const c = loadConfig({ TRAILS_DATA_DIR: '/tmp/a', TRAILS_LISTEN: '127.0.0.1:9000', TRAILS_RECONNECT_WINDOW: '5' }, ['--listen', '[::1]:9100', '--data-dir=/tmp/b']);
    expect(c).toMatchObject({ dataDir: '/tmp/b', host: '::1', port: 9100, reconnectWindowMs: 5000 });
  });

  it('accepts a bare port', () => {
    expect(loadConfig({ TRAILS_LISTEN: '8080' }, [])).toMatchObject({ host: '0.0.0.0', port: 8080 });
  });

  const bad: Array<[NodeJS.ProcessEnv, string[], RegExp]> = [
    [{}, ['--listen', 'localhost'], /HOST:PORT/],
    [{}, ['--listen', '1.2.3.4:70000'], /between 0 and 65535/],
    [{ TRAILS_MAX_FRAME: 'big' }, [], /whole number/],
    [{}, ['--min-sec-level', 'paranoid'], /open, signed, encrypted, full/],
    [{}, ['--frobnicate', '1'], /unknown option --frobnicate/],
    [{}, ['--rate'], /needs a value/],
    [{}, ['--tls-cert', '/tmp/c.pem'], /go together/],
    [{}, ['--log-level', 'loud'], /--log-level/],
    [{ TRAILS_REGISTRATION: 'closed' }, [], /--registration must be one of gated, open/],
    [{}, ['--bootstrap-max-awaiting', '0'], /between 1 and/],
    [{}, ['--bootstrap-global-rate', '-1'], /whole number/],
    [{}, ['--bootstrap-retention', '1e3'], /whole number/],
  ];
  for (const [env, argv, msg] of bad) {
    it(`refuses ${JSON.stringify(env)} ${argv.join(' ')}`, () => {
      expect(() => loadConfig(env, argv)).toThrow(ConfigError);
      expect(() => loadConfig(env, argv)).toThrow(msg);
    });
  }

  it('gates registration by default; open, the first-contact budgets and the retention come from env or flags', () => {
    expect(loadConfig({}, [])).toMatchObject({ registration: 'gated', bootstrapMaxAwaiting: 1000, bootstrapGlobalPerMinute: 120, bootstrapRetentionMs: 86_400_000 });
    const c = loadConfig({ TRAILS_REGISTRATION: 'open', TRAILS_BOOTSTRAP_MAX_AWAITING: '50' }, ['--bootstrap-global-rate', '30', '--bootstrap-retention', '0']);
    expect(c).toMatchObject({ registration: 'open', bootstrapMaxAwaiting: 50, bootstrapGlobalPerMinute: 30, bootstrapRetentionMs: 0 });
    const text = usage();
    for (const flag of ['--registration', '--bootstrap-max-awaiting', '--bootstrap-global-rate', '--bootstrap-retention']) expect(text).toContain(flag);
  });

  it('documents every setting in --help', () => {
    const text = usage();
    for (const flag of ['--data-dir', '--listen', '--tls-cert', '--max-frame', '--reconnect-window', '--snapshot-retention']) expect(text).toContain(flag);
    expect(defaultConfig().snapshotRetention).toBeGreaterThan(0);
  });
});
