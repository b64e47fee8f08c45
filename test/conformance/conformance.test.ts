/**
 * The reference's conformance scenarios (read in place from ../shared) and the
 * project's own (scenarios/), each set against a fresh in-process gateway that
 * the runner may restart and send controls through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayHarness } from './gateway-harness.js';
import { ConformanceRunner } from './runner.js';
import { loadScenarios, PROJECT_DIR, REFERENCE_DIR, referenceScenariosPresent } from './scenario.js';

const haveReference = referenceScenariosPresent();
if (!haveReference) {
  console.warn(`conformance: ${REFERENCE_DIR} is absent, so the reference scenarios are skipped (the project's own still run)`);
}

describe.skipIf(!haveReference)('reference conformance scenarios (../shared, read in place)', () => {
  if (haveReference) suiteFor(REFERENCE_DIR);
  else it(`needs ${REFERENCE_DIR}`, () => {});
});

describe('project conformance scenarios (test/conformance/scenarios)', () => {
  suiteFor(PROJECT_DIR);
});

function suiteFor(dir: string): void {
  const scenarios = loadScenarios([dir]);
  const harness = new GatewayHarness();
  let runner: ConformanceRunner | undefined;

  beforeAll(async () => {
    await harness.start();
    runner = new ConformanceRunner(harness.target(), scenarios);
  });
  afterAll(async () => {
    await runner?.close();
    await harness.dispose();
  });

  for (const s of scenarios) {
    it(`${s.name}: ${s.description ?? ''}`.trim(), async () => {
      const result = await runner!.run(s);
      expect(result.messages).toEqual([]);
      expect(result.status).toBe('passed');
    });
  }
}
