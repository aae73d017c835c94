// Builds dist/esm (core index.js, full.js), the IIFE script-tag bundles and the .d.ts types.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { minify } from 'terser';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rrwebSliceHook } from './rrweb-hook.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });

const common = { absWorkingDir: root, bundle: true, target: ['es2020'], platform: 'browser', legalComments: 'none', logLevel: 'warning', plugins: [rrwebSliceHook] };

await Promise.all([
  // ESM: dependencies bundled too, so `import` works straight from a CDN; code shared between index and full
  build({
    ...common,
    entryPoints: { index: 'src/index.ts', full: 'src/full.ts' },
    outdir: join(dist, 'esm'),
    format: 'esm',
    splitting: true,
    minify: true,
    sourcemap: true,
    chunkNames: 'chunks/[name]-[hash]',
  }),
  build({ ...common, entryPoints: ['src/script.ts'], outfile: join(dist, 'sessionreplay.min.js'), format: 'iife', globalName: 'SessionReplay', minify: true, sourcemap: true }),
  build({ ...common, entryPoints: ['src/script-full.ts'], outfile: join(dist, 'sessionreplay-full.min.js'), format: 'iife', globalName: 'SessionReplay', minify: true, sourcemap: true }),
]);

// The core script bundle has a 30 KiB gzip budget (BENCHMARKS.md) with rrweb taking 23 of it: a second
// minification pass with terser (after esbuild's) takes ~1.4 KiB more off, source map chained, and rrweb's
// developer warnings (console.warn/debug/log) go: pages that record need no noise in their console. Our own
// messages use console.error (script-tag init failure) and console.info (`debug`), which stay.
{
  const file = join(dist, 'sessionreplay.min.js');
  const out = await minify(readFileSync(file, 'utf8'), {
    compress: { passes: 2, ecma: 2020, pure_funcs: ['console.warn', 'console.debug', 'console.log'] },
    mangle: true,
    ecma: 2020,
    format: { comments: false },
    sourceMap: { content: readFileSync(file + '.map', 'utf8'), url: 'sessionreplay.min.js.map' },
  });
  writeFileSync(file, out.code);
  writeFileSync(file + '.map', out.map);
}

execFileSync(process.execPath, [join(root, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json'), '--noEmit', 'false'], { stdio: 'inherit' });
console.log('built', dist);
