// Bundles the panel test harness (tests/panel/harness.tsx, reference.ts) with esbuild into node_modules/.cache.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const outdir = path.resolve(here, '../../node_modules/.cache/sessionreplay-panel-harness');
mkdirSync(outdir, { recursive: true });

const t0 = Date.now();
await build({
  entryPoints: { harness: path.join(here, 'harness.tsx'), reference: path.join(here, 'reference.ts') },
  bundle: true,
  outdir,
  format: 'esm',
  splitting: false,
  platform: 'browser',
  target: 'es2020',
  minify: false,
  sourcemap: false,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
  loader: {
    '.svg': 'dataurl',
    '.png': 'dataurl',
    '.woff': 'empty',
    '.woff2': 'empty',
    '.ttf': 'empty',
    '.eot': 'empty',
  },
  jsx: 'automatic',
});
console.log(`harness bundled in ${Date.now() - t0} ms -> ${outdir}`);
