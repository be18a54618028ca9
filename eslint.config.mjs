import nx from '@nx/eslint-plugin';
import * as jsoncParser from 'jsonc-eslint-parser';

/**
 * Module boundaries (docs/development.md#module-boundaries; the projects: README.md's table):
 * apps are wiring over libs; libs never import apps;
 * `messaging` and `store` never import each other; `config`, `devstack` and `contract` (a reading's shape,
 * the statuses, device ids: the one source of truth every project takes them from) depend on nothing of ours.
 * `runtime` (timing, lifecycle, logger, the small JSON servers) depends on `config` alone, and every lib
 * that waits or serves takes it from there, never from `config`.
 * `devstack` is test and development tooling: specs may use it, shipped code may not.
 */
const depConstraints = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'scope:config', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:contract', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:devstack', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:runtime', onlyDependOnLibsWithTags: ['scope:config', 'scope:devstack'] },
  { sourceTag: 'scope:metrics', onlyDependOnLibsWithTags: ['scope:runtime'] },
  { sourceTag: 'scope:messaging', onlyDependOnLibsWithTags: ['scope:runtime', 'scope:contract', 'scope:devstack'] },
  { sourceTag: 'scope:store', onlyDependOnLibsWithTags: ['scope:runtime', 'scope:contract', 'scope:devstack'] },
  {
    sourceTag: 'scope:broadcaster',
    onlyDependOnLibsWithTags: ['scope:config', 'scope:runtime', 'scope:contract', 'scope:messaging', 'scope:metrics', 'scope:devstack'],
  },
  {
    sourceTag: 'scope:processor',
    onlyDependOnLibsWithTags: ['scope:config', 'scope:runtime', 'scope:contract', 'scope:messaging', 'scope:metrics', 'scope:store', 'scope:devstack'],
  },
  {
    sourceTag: 'scope:api',
    onlyDependOnLibsWithTags: ['scope:config', 'scope:runtime', 'scope:contract', 'scope:messaging', 'scope:metrics', 'scope:store', 'scope:devstack'],
  },
  // End-to-end suites drive the built apps as a black box; the fault suite also reads the rollups
  // that the store defines (their collections), to check them against what the broker acknowledged,
  // and take a reading's shape from the contract.
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['scope:contract', 'scope:devstack', 'scope:store'] },
  // The benchmark harness drives the real pipeline: it publishes, stores and reads like the apps do.
  { sourceTag: 'type:bench', onlyDependOnLibsWithTags: ['type:lib'] },
  {
    sourceTag: 'scope:bench',
    onlyDependOnLibsWithTags: ['scope:config', 'scope:contract', 'scope:devstack', 'scope:messaging', 'scope:store'],
  },
];

const testFiles = ['**/*.spec.ts', '**/vitest.config.ts', '**/test/**/*.ts'];

/**
 * Files of a project that only its tests run: what they import belongs in devDependencies, and
 * `@nx/dependency-checks` (which reads `dependencies` only) does not look at them.
 */
const testOnlyFiles = [
  '{projectRoot}/**/*.spec.ts',
  '{projectRoot}/**/test/**',
  '{projectRoot}/vitest.config.ts',
  '{projectRoot}/eslint.config.mjs',
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist', '**/node_modules', '**/tmp', '.nx', 'coverage', 'bench/results'] },
  {
    // Each package.json declares, in `dependencies`, every package its shipped code imports, and
    // nothing it does not (obsolete ones are errors too). It reads the files its `typecheck` target
    // reads (every project has one; `build` bundles the libs in, so it would not count them).
    files: ['**/package.json'],
    languageOptions: { parser: jsoncParser },
    rules: {
      '@nx/dependency-checks': [
        'error',
        { buildTargets: ['typecheck'], ignoredFiles: testOnlyFiles, checkVersionMismatches: true },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        // Each project's vitest.config.ts extends the one shared config at the root.
        { enforceBuildableLibDependency: false, allow: ['../../vitest.shared.mjs'], depConstraints },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.ts'],
    // apps/bench is development tooling like the specs: it runs against the devstack, never ships.
    ignores: [...testFiles, 'apps/bench/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: '@tally/devstack', message: 'devstack is for tests and development only' }] },
      ],
    },
  },
  {
    // The environment is read in one place: libs/config (devstack, a dev tool, passes it to servers).
    files: ['**/*.ts'],
    ignores: ['libs/config/src/**', 'libs/devstack/**', ...testFiles],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through @tally/config' },
      ],
    },
  },
];
