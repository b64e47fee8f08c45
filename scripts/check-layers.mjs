/**
 * Runs dependency-cruiser over the layers with .dependency-cruiser.cjs.
 *
 * dependency-cruiser reads TypeScript through the TypeScript compiler API,
 * which TypeScript 7 (this project's) no longer ships. So the sources are
 * first transpiled one file at a time with esbuild into a mirror tree, with
 * type-only imports kept as imports (a type imported across a layer is a
 * dependency too), and the mirror is cruised with the same rules.
 *
 * Usage: node scripts/check-layers.mjs   (exit 1 and the violations on stderr)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const LAYERS = ['protocol', 'client', 'cli', 'gateway', 'web', 'provisioning'];

/** `import type` / `type X` specifiers become plain imports, so that esbuild keeps them. */
export function keepTypeImports(source) {
  return source
    .replace(/^(\s*)import\s+type\s+/gm, '$1import ')
    .replace(/^(\s*)export\s+type\s+(\{[^}]*\}\s*from)/gm, '$1export $2')
    .replace(/((?:^|\n)\s*(?:import|export)\s*\{)([^}]*)(\}\s*from)/g, (_m, a, names, b) => a + names.replace(/\btype\s+(?=[A-Za-z_$])/g, '') + b);
}

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

function transpile(source, sourcefile) {
  return transformSync(keepTypeImports(source), {
    loader: 'ts',
    format: 'esm',
    sourcefile,
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
  }).code;
}

function put(into, path, source) {
  const out = join(into, path).replace(/\.ts$/, '.js');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, transpile(source, path));
}

function mirror(into, extra) {
  for (const layer of LAYERS) {
    let files;
    try {
      files = [...sources(join(root, layer))];
    } catch {
      continue;
    }
    for (const file of files) put(into, relative(root, file), readFileSync(file, 'utf8'));
  }
  for (const [path, source] of Object.entries(extra)) put(into, path, source);
  symlinkSync(join(root, 'node_modules'), join(into, 'node_modules'));
  writeFileSync(join(into, 'package.json'), JSON.stringify({ type: 'module' }));
}

/**
 * Cruises the layers; returns { ok, output }. `extra` adds files (path from
 * the repository root → TypeScript source) to the cruised copy only, so a
 * test can show a rule firing without touching the tree.
 */
export function checkLayers(extra = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'trails-layers-'));
  try {
    mirror(dir, extra);
    const present = LAYERS.filter((l) => {
      try {
        return readdirSync(join(dir, l)).length > 0;
      } catch {
        return false;
      }
    });
    const bin = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
    try {
      const output = execFileSync(process.execPath, [bin, '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'err', ...present], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
      return { ok: true, output };
    } catch (e) {
      return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { ok, output } = checkLayers();
  process.stdout.write(output);
  process.exit(ok ? 0 : 1);
}
