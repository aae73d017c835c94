// Bundles the test pages (pages/<sdk>.ts, each with its SDK from this
// directory's node_modules) into <out dir>/<sdk>.js with esbuild.
//
//   node tests/sdks/build.mjs <out dir>
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: build.mjs <out dir>');
  process.exit(2);
}
await build({
  entryPoints: ['hyperdx', 'faro', 'otel'].map((sdk) => ({ in: join(here, 'pages', sdk + '.ts'), out: sdk })),
  outdir: out,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  sourcemap: false,
  logLevel: 'warning',
  absWorkingDir: here,
  nodePaths: [join(here, 'node_modules')],
});
process.stdout.write(JSON.stringify({ ok: true, out }) + '\n');
