/** The caps and audit settings (issue 11): defaults, env and flags, range checks, --help. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, usage } from '../../gateway/config.js';

describe('caps and audit settings', () => {
  it('have sane defaults', () => {
    expect(loadConfig({}, [])).toMatchObject({
      maxConnections: 20_000, maxConnectionsPerAddress: 64, maxUnregisteredPerAddress: 16, maxAppsPerConnection: 64,
      maxWatchers: 10_000, maxWatchersPerAddress: 32, refusalIntervalMs: 60_000, refusalMaxEntries: 1000,
      auditRetentionMs: 90 * 86_400_000, auditMaxRows: 100_000,
    });
  });

  it('are read from TRAILS_* and from flags, flags last', () => {
    const env = { TRAILS_MAX_CONNECTIONS_PER_ADDRESS: '8', TRAILS_MAX_APPS_PER_CONNECTION: '2', TRAILS_AUDIT_RETENTION_DAYS: '7', TRAILS_REFUSAL_INTERVAL: '10' };
    const c = loadConfig(env, ['--max-connections-per-address', '9', '--max-unregistered-per-address=3', '--max-watchers', '5', '--max-watchers-per-address', '4', '--refusal-max-entries', '50', '--audit-max-rows', '1000']);
    expect(c).toMatchObject({
      maxConnectionsPerAddress: 9, maxAppsPerConnection: 2, auditRetentionMs: 7 * 86_400_000, refusalIntervalMs: 10_000,
      maxUnregisteredPerAddress: 3, maxWatchers: 5, maxWatchersPerAddress: 4, refusalMaxEntries: 50, auditMaxRows: 1000,
    });
  });

  it.each([
    ['--max-connections-per-address', '0'], ['--max-unregistered-per-address', '-1'], ['--max-apps-per-connection', 'many'],
    ['--max-watchers-per-address', '0'], ['--audit-retention-days', '0'], ['--audit-max-rows', '99'], ['--refusal-interval', '0'], ['--refusal-max-entries', '1.5'],
  ])('refuses %s %s', (flag, value) => {
    expect(() => loadConfig({}, [flag, value])).toThrow(ConfigError);
    expect(() => loadConfig({}, [flag, value])).toThrow(flag);
  });

  it('are all in --help with their environment names', () => {
    const text = usage();
    for (const [flag, env] of [
      ['--max-connections-per-address', 'TRAILS_MAX_CONNECTIONS_PER_ADDRESS'], ['--max-unregistered-per-address', 'TRAILS_MAX_UNREGISTERED_PER_ADDRESS'],
      ['--max-apps-per-connection', 'TRAILS_MAX_APPS_PER_CONNECTION'], ['--max-watchers', 'TRAILS_MAX_WATCHERS'], ['--max-watchers-per-address', 'TRAILS_MAX_WATCHERS_PER_ADDRESS'],
      ['--refusal-interval', 'TRAILS_REFUSAL_INTERVAL'], ['--refusal-max-entries', 'TRAILS_REFUSAL_MAX_ENTRIES'],
      ['--audit-retention-days', 'TRAILS_AUDIT_RETENTION_DAYS'], ['--audit-max-rows', 'TRAILS_AUDIT_MAX_ROWS'],
    ]) {
      expect(text).toMatch(new RegExp(`${flag} VALUE .*\\[${env}\\]`));
    }
  });
});
