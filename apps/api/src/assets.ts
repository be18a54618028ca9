import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A page's script and style sheet, built for browsers. */
export interface BrowserAssets {
  script: string;
  style: string;
}

/** The browser assets of the dashboard (`/`) and of the API reference (`/docs`). */
export interface ApiAssets {
  dashboard: BrowserAssets;
  docs: BrowserAssets;
}

/** Set by tools/bundle.mjs in the built app (from ../bundle.assets.mjs); absent under tsx and vitest. */
declare const TALLY_BUNDLED_ASSETS: ApiAssets | undefined;

/**
 * The pages' scripts and styles: embedded in the built bundle, so the image needs no other file;
 * built with esbuild (a dev dependency) from the sources and node_modules otherwise.
 */
export async function loadAssets(): Promise<ApiAssets> {
  if (typeof TALLY_BUNDLED_ASSETS !== 'undefined') return TALLY_BUNDLED_ASSETS;
  const { buildAssets } = (await import(builder())) as { buildAssets: () => Promise<ApiAssets> };
  return buildAssets();
}

/** The API reference's assets alone, built from the sources (for tests). */
export async function buildDocsAssets(): Promise<BrowserAssets> {
  const { buildDocsAssets: build } = (await import(builder())) as { buildDocsAssets: () => Promise<BrowserAssets> };
  return build();
}

const builder = () => pathToFileURL(join(import.meta.dirname, '..', 'bundle.assets.mjs')).href;

/** Serves an asset's text with its type; not cached by browsers across deployments. */
export function assetBody(text: string, type: 'text/javascript' | 'text/css'): [string, 200, Record<string, string>] {
  return [text, 200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-cache' }];
}
