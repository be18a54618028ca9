// The dashboard's browser assets. tools/bundle.mjs embeds them in the API's bundle
// (TALLY_BUNDLED_ASSETS); src/dashboard/assets.ts builds them the same way when run from the sources.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** @returns {Promise<{ script: string, style: string }>} */
export async function buildAssets() {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(import.meta.dirname, 'dashboard', 'main.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['chrome110', 'firefox110', 'safari16'],
    write: false,
    logLevel: 'warning',
  });
  const style = await readFile(createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css'), 'utf8');
  return { script: result.outputFiles[0].text, style };
}
