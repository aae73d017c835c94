// Bundles the plugin host's page (tests/pluginhost/host.tsx: Grafana's shared modules and services, the loader) with
// esbuild into node_modules/.cache/sessionreplay-plugin-host, once per change of its inputs.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const outdir = path.resolve(here, '../../node_modules/.cache/sessionreplay-plugin-host');
mkdirSync(outdir, { recursive: true });

const t0 = Date.now();
await build({
  entryPoints: { host: path.join(here, 'host.tsx') },
  bundle: true,
  outdir,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
  // `define: undefined`: UMD packages in the bundle (lodash, moment) must not see the amd extra's global define and
  // register themselves with SystemJS; in Grafana webpack resolves them the same way.
  define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis', define: 'undefined' },
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
console.log(`plugin host bundled in ${Date.now() - t0} ms -> ${outdir}`);
