#!/usr/bin/env node
// Bundles the app in the current directory (an Nx project under apps/) into
// dist/apps/<app>/main.js: one CommonJS file, with every dependency inside, that plain `node` runs.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const projectDir = process.cwd();
const root = resolve(projectDir, '../..');
const outfile = join(root, 'dist', relative(root, projectDir), 'main.js');
// An app with browser assets (the API's dashboard) builds them in bundle.assets.mjs: they are
// embedded as the constant TALLY_BUNDLED_ASSETS, so the bundle stays one file.
const assetsBuilder = join(projectDir, 'bundle.assets.mjs');
const define = { 'import.meta.dirname': '__dirname' };
if (existsSync(assetsBuilder)) {
  const { buildAssets } = await import(pathToFileURL(assetsBuilder).href);
  define.TALLY_BUNDLED_ASSETS = JSON.stringify(await buildAssets());
}

await build({
  entryPoints: [join(projectDir, 'src', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  define,
  // Optional native or cloud add-ons of the mongodb driver that Tally does not use; the driver
  // loads them lazily and only when configured to.
  external: [
    '@aws-sdk/credential-providers',
    '@mongodb-js/zstd',
    'gcp-metadata',
    'kerberos',
    'mongodb-client-encryption',
    'snappy',
    'aws4',
  ],
  logLevel: 'warning',
});
console.log(`${basename(projectDir)} → ${relative(root, outfile)}`);
