import { execSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repositoryRoot as root } from './test/repository';

/** Where Nx keeps its project graph for these tests: empty at first, as in a fresh clone. */
const workspaceData = mkdtempSync(join(tmpdir(), 'tally-nx-data-'));
const env = { ...process.env, NX_WORKSPACE_DATA_DIRECTORY: workspaceData, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };

afterAll(() => rmSync(workspaceData, { recursive: true, force: true }));

/** Lints `source` as the file `path` of the workspace; the rules that reported it. */
function ruleIdsFor(path: string, source: string): string[] {
  // The report to a file: a rule that skips itself warns on stdout.
  const report = join(workspaceData, 'eslint.json');
  spawnSync('npx', ['eslint', '--format', 'json', '--output-file', report, '--stdin', '--stdin-filename', path], {
    cwd: root,
    env,
    input: source,
  });
  const [result] = JSON.parse(readFileSync(report, 'utf8')) as { messages: { ruleId: string | null }[] }[];
  return (result?.messages ?? []).map((message) => message.ruleId ?? '(no rule)');
}

describe('npm run lint', () => {
  it('enforces the module boundaries on a fresh clone, where Nx has no project graph cached yet', () => {
    // The script's steps before eslint, as npm runs them (the boundary rule reads the graph they leave).
    const script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['lint'] ?? '';
    const steps = script.split('&&').map((step) => step.trim());
    expect(steps.at(-1), 'the script ends with eslint over the workspace').toBe('eslint .');
    for (const step of steps.slice(0, -1)) execSync(`npx ${step}`, { cwd: root, env, stdio: 'ignore' });

    // An app that reaches into a lib's files by path instead of importing the lib.
    const ruleIds = ruleIdsFor('apps/api/src/boundary-probe.ts', "import { floorTo } from '../../../libs/store/src/rollup-plan';\nexport const f = floorTo;\n");
    expect(ruleIds).toContain('@nx/enforce-module-boundaries');
  }, 120_000);
});
