import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { checkLayers, keepTypeImports } from '../../scripts/check-layers.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

type Check = (extra?: Record<string, string>) => { ok: boolean; output: string };

describe('the layers (.dependency-cruiser.cjs, docs/ARCHITECTURE.md)', () => {
  it('protocol ← client ← cli and protocol ← gateway hold, with no circles', () => {
    const { ok, output } = (checkLayers as Check)();
    if (!ok) expect.fail(`dependency-cruiser found layer violations:\n${output}`);
    expect(output).toMatch(/no dependency violations found \(\d+ modules/);
  });

  it('type-only imports count as dependencies', () => {
    expect(keepTypeImports("import type { A } from './a.js';\nimport { b, type C } from './c.js';\nexport type { D } from './d.js';")).toBe("import { A } from './a.js';\nimport { b, C } from './c.js';\nexport { D } from './d.js';");
  });

  it('a new import across a layer is found, with the rule that forbids it', () => {
    const { ok, output } = (checkLayers as Check)({
      'client/zz-probe.ts': "import type { GatewayStore } from '../gateway/store/types.js';\nexport type Probe = GatewayStore;\n",
      'protocol/zz-probe.ts': "import { readFileSync } from 'node:fs';\nexport const probe = readFileSync;\n",
      'cli/zz-probe.ts': "import { APP_STATUSES } from '../gateway/store/sqlite/rows.js';\nexport const probe = APP_STATUSES;\n",
      'gateway/zz-probe.ts': "import { signRequest } from '../cli/crypto.js';\nexport const probe = signRequest;\n",
      'protocol/zz-circle-a.ts': "import { b } from './zz-circle-b.js';\nexport const a = () => b;\n",
      'protocol/zz-circle-b.ts': "import { a } from './zz-circle-a.js';\nexport const b = () => a;\n",
    });
    expect(ok).toBe(false);
    expect(output).toContain('client-on-protocol-only: client/zz-probe.js → gateway/store/types.js');
    expect(output).toContain('protocol-no-node-builtins: protocol/zz-probe.js → fs');
    expect(output).toContain('cli-on-client-and-protocol: cli/zz-probe.js → gateway/store/sqlite/rows.js');
    expect(output).toContain('gateway-not-on-client-or-cli: gateway/zz-probe.js → cli/crypto.js');
    expect(output).toMatch(/no-circular: protocol\/zz-circle-[ab]\.js/);
  });

  it('protocol/ typechecks as a browser sees it (lib ES2022 + DOM, no @types/node)', () => {
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    expect(() => execFileSync(tsc, ['-p', join(root, 'protocol'), '--noEmit'], { cwd: root, stdio: 'pipe' })).not.toThrow();
  });
});
