import { join } from 'node:path';
import { bundlePath, findWorkspaceRoot, runApp, type RunningApp } from '@tally/devstack';

const appDir = join(import.meta.dirname, '..', '..');
const BUNDLE = bundlePath(findWorkspaceRoot(appDir), 'broadcaster');

/**
 * The broadcaster's built bundle (`nx build broadcaster`, which its `test` target depends on), with
 * plain `node` as its image runs it: a start costs a fifth of what `tsx` compiling the source costs.
 */
export function runBroadcaster(args: readonly string[], env: Record<string, string>): RunningApp {
  return runApp({ appDir, bundle: BUNDLE, args, env });
}
