import { readdirSync, readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContext, runInContext } from 'node:vm';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function protocolModules(dir = join(root, 'protocol')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return protocolModules(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [`./${relative(root, path)}`] : [];
  });
}

/** Every protocol module, plus a function that runs the vectors on noble: what a web page would load. */
function entry(modules: string[]): string {
  return [
    ...modules.map((m, i) => `import * as m${i} from '${m}';`),
    "import { nobleCrypto } from './protocol/crypto-noble.ts';",
    "import { checkSealedVectors, checkSigningVectors } from './protocol/vectors.ts';",
    `globalThis.protocolModules = [${modules.map((_, i) => `m${i}`).join(', ')}].length;`,
    'globalThis.runVectors = (signing, sealed) => JSON.stringify({ signing: checkSigningVectors(JSON.parse(signing), nobleCrypto), sealed: checkSealedVectors(JSON.parse(sealed), nobleCrypto) });',
  ].join('\n');
}

async function bundle(source: string): Promise<string> {
  const out = await build({ stdin: { contents: source, resolveDir: root, loader: 'ts' }, bundle: true, platform: 'browser', format: 'iife', write: false, logLevel: 'silent' });
  return out.outputFiles[0]!.text;
}

/**
 * A realm with only what a browser page has of what the protocol uses
 * (TextEncoder, TextDecoder, crypto.getRandomValues) and no Node globals:
 * no Buffer, process, require. The encoder copies into the realm's own
 * Uint8Array, as a browser's would return.
 */
function browserRealm(): object {
  const realm = createContext({ hostEncode: (s: string) => Array.from(new TextEncoder().encode(s)), hostDecode: (b: ArrayLike<number>) => new TextDecoder().decode(Uint8Array.from(b)), hostRandom: (n: number) => Array.from(webcrypto.getRandomValues(new Uint8Array(n))) });
  runInContext(
    `(() => {
       const [encode, decode, random] = [hostEncode, hostDecode, hostRandom];
       delete globalThis.hostEncode; delete globalThis.hostDecode; delete globalThis.hostRandom;
       globalThis.TextEncoder = class { encode(s) { return Uint8Array.from(encode(s)); } };
       globalThis.TextDecoder = class { decode(b) { return decode(b); } };
       globalThis.crypto = { getRandomValues(a) { a.set(random(a.length)); return a; } };
     })();`,
    realm,
  );
  return realm;
}

describe('protocol/ in a browser (esbuild, platform browser)', () => {
  it('bundles with no Node module and runs every vector file in a realm without Node globals', async () => {
    const modules = protocolModules();
    expect(modules.length).toBeGreaterThan(10);
    const code = await bundle(entry(modules));
    expect(code).not.toMatch(/\brequire\(|node:/);
    const realm = browserRealm();
    expect(runInContext('typeof Buffer + typeof process + typeof require', realm)).toBe('undefinedundefinedundefined');
    runInContext(code, realm);
    expect(runInContext('protocolModules', realm)).toBe(modules.length);
    const vector = (name: string): string => readFileSync(join(root, 'docs', 'vectors', name), 'utf8');
    const run = runInContext('runVectors', realm) as (a: string, b: string) => string;
    expect(JSON.parse(run(vector('signing.json'), vector('sealed.json')))).toEqual({ signing: [], sealed: [] });
  });

  it('a Node-only import in the protocol fails the browser build', async () => {
    await expect(bundle("import { createHash } from 'node:crypto'; export const h = createHash;")).rejects.toThrow(/node:crypto/);
    await expect(bundle("export const b = Buffer.from('x');").then((code) => runInContext(code, browserRealm()))).rejects.toThrow(/Buffer is not defined/);
  });
});
