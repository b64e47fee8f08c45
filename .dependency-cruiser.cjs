/**
 * The layers of the house (docs/ARCHITECTURE.md "Layers"), one rule per arrow:
 *
 *   protocol/  ← client/ ← cli/
 *   protocol/  ← gateway/
 *   protocol/  ← web/, provisioning/ (when they hold code)
 *
 * Checked in the default test run (test/architecture/layers.test.ts), so that
 * a new import across a layer fails a test instead of going unnoticed.
 * Tests, bench and scripts may import anything; they are not cruised.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'protocol-is-the-floor',
      comment: 'protocol/ runs unchanged in a browser: it imports nothing of ours outside protocol/ and no Node built-in.',
      severity: 'error',
      from: { path: '^protocol/' },
      to: { pathNot: '^protocol/|^node_modules/@noble/' },
    },
    {
      name: 'protocol-no-node-builtins',
      comment: 'protocol/ must bundle for the browser: no node: modules (crypto, buffer, fs, ...).',
      severity: 'error',
      from: { path: '^protocol/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'client-on-protocol-only',
      comment: 'The device client depends on protocol/ only, never on the gateway or the CLI.',
      severity: 'error',
      from: { path: '^client/' },
      to: { path: '^(gateway|cli|web|provisioning)/' },
    },
    {
      name: 'cli-on-client-and-protocol',
      comment: 'The CLI talks to the gateway over its API: client/ and protocol/ (with protocol/api for the REST shapes), never the store or internals.',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: '^(gateway|web|provisioning)/' },
    },
    {
      name: 'gateway-not-on-client-or-cli',
      comment: 'The gateway depends on protocol/, not on the device client or the CLI.',
      severity: 'error',
      from: { path: '^gateway/' },
      to: { path: '^(client|cli|web|provisioning)/' },
    },
    {
      name: 'web-and-provisioning-on-protocol',
      comment: 'The web UI and provisioning tools stand on protocol/ (and their own code) only.',
      severity: 'error',
      from: { path: '^(web|provisioning)/' },
      to: { path: '^(gateway|client|cli)/' },
    },
    {
      name: 'no-circular',
      comment: 'No import circles anywhere.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    // Run through scripts/check-layers.mjs, which cruises an esbuild-transpiled
    // mirror of the sources (type-only imports kept): TypeScript 7 has no
    // compiler API for dependency-cruiser to read .ts with.
  },
};
