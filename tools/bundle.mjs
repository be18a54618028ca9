#!/usr/bin/env node
// Bundles the app in the current directory (an Nx project under apps/) into
// dist/apps/<app>/main.js: one CommonJS file, with every dependency inside, that plain `node` runs.
import { build } from 'esbuild';
import { basename, join, relative, resolve } from 'node:path';

const projectDir = process.cwd();
const root = resolve(projectDir, '../..');
const outfile = join(root, 'dist', relative(root, projectDir), 'main.js');

await build({
  entryPoints: [join(projectDir, 'src', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
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
