import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DashboardAssets } from './routes';

/** Set by tools/bundle.mjs in the built app (from ../../bundle.assets.mjs); absent under tsx and vitest. */
declare const TALLY_BUNDLED_ASSETS: DashboardAssets | undefined;

/**
 * The dashboard's script and styles: embedded in the built bundle, so the image needs no other
 * file; built with esbuild (a dev dependency) when running from the sources.
 */
export async function loadDashboardAssets(): Promise<DashboardAssets> {
  if (typeof TALLY_BUNDLED_ASSETS !== 'undefined') return TALLY_BUNDLED_ASSETS;
  const builder = pathToFileURL(join(import.meta.dirname, '..', '..', 'bundle.assets.mjs')).href;
  const { buildAssets } = (await import(builder)) as { buildAssets: () => Promise<DashboardAssets> };
  return buildAssets();
}
