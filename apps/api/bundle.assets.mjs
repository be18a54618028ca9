// The API's browser assets: the dashboard's and the API reference's (/docs) scripts and styles.
// tools/bundle.mjs embeds them in the API's bundle (TALLY_BUNDLED_ASSETS); src/assets.ts builds
// them the same way when run from the sources.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const resolve = createRequire(import.meta.url).resolve;

/** @returns {Promise<{ script: string, style: string }>} */
async function bundle(entry, style) {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(import.meta.dirname, entry)],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['chrome110', 'firefox110', 'safari16'],
    write: false,
    logLevel: 'warning',
  });
  return { script: result.outputFiles[0].text, style: await readFile(resolve(style), 'utf8') };
}

/** The dashboard's script, with uPlot, and uPlot's style sheet (the page adds its own rules). */
export const buildDashboardAssets = () => bundle('dashboard/main.ts', 'uplot/dist/uPlot.min.css');

/** Swagger UI with its start-up script, and its style sheet. */
export const buildDocsAssets = () => bundle('docs/main.ts', 'swagger-ui-dist/swagger-ui.css');

/** @returns {Promise<{ dashboard: { script: string, style: string }, docs: { script: string, style: string } }>} */
export async function buildAssets() {
  const [dashboard, docs] = await Promise.all([buildDashboardAssets(), buildDocsAssets()]);
  return { dashboard, docs };
}
