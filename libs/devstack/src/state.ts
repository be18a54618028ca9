import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DevstackError } from './errors';
import type { DevstackUrls, ServiceName, ServiceSource } from './services';

/** What a running `devstack up` tells the processes that use it, in `tmp/devstack/state.json`. */
export interface DevstackState {
  /** The `devstack up` process. */
  pid: number;
  status: 'starting' | 'ready' | 'failed';
  updatedAt: string;
  urls?: DevstackUrls;
  services?: { name: ServiceName; source: ServiceSource; pids: number[] }[];
  /** Why the start failed, when `status` is `failed`. */
  error?: string;
}

/** The nearest directory from `cwd` up that holds `nx.json`, else `cwd`. */
export function findWorkspaceRoot(cwd = process.cwd()): string {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) return resolve(cwd);
  }
}

export function devstackDir(root: string): string {
  return join(root, 'tmp', 'devstack');
}

const stateFile = (dir: string) => join(dir, 'state.json');

export function readState(dir: string): DevstackState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(dir), 'utf8')) as DevstackState;
  } catch {
    return undefined;
  }
}

/** Claims the state file for this process; false when a live devstack holds it. */
export function claimState(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  const state: DevstackState = { pid: process.pid, status: 'starting', updatedAt: new Date().toISOString() };
  try {
    writeFileSync(stateFile(dir), JSON.stringify(state), { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

export function writeState(dir: string, state: Omit<DevstackState, 'pid' | 'updatedAt'>): void {
  const full: DevstackState = { pid: process.pid, updatedAt: new Date().toISOString(), ...state };
  const temp = `${stateFile(dir)}.${process.pid}`;
  writeFileSync(temp, JSON.stringify(full, null, 2));
  renameSync(temp, stateFile(dir));
}

export function removeState(dir: string): void {
  rmSync(stateFile(dir), { force: true });
}

/** True when `pid` is a live process running the devstack CLI (not a recycled pid). */
export function isDevstackProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('devstack');
  } catch {
    return isAlive(pid);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface WaitForDevstackOptions {
  /** @default the workspace root above process.cwd() */
  root?: string;
  /** @default 180_000 */
  timeoutMs?: number;
}

/**
 * The URLs of the devstack running for this workspace, once it is ready. Tests call this; Nx
 * starts the devstack for them (`devstack:serve` is a continuous dependency of their `test`).
 */
export async function waitForDevstack(options: WaitForDevstackOptions = {}): Promise<DevstackUrls> {
  const dir = devstackDir(options.root ?? findWorkspaceRoot());
  const timeoutMs = options.timeoutMs ?? 180_000;
  const since = Date.now();
  for (;;) {
    const state = readState(dir);
    if (state?.status === 'failed' && Date.parse(state.updatedAt) > since - 60_000) {
      throw new DevstackError('start_failed', `The devstack failed to start: ${state.error}`);
    }
    if (state?.status === 'ready' && state.urls && isDevstackProcess(state.pid)) return state.urls;
    if (Date.now() - since > timeoutMs) {
      throw new DevstackError(
        'not_running',
        `No devstack became ready within ${timeoutMs / 1000} s in ${dir}. ` +
          'Run the tests through Nx (npm test, or npx nx test <project>), which starts it, ' +
          'or start it yourself with `npx nx run devstack:serve`.',
      );
    }
    await sleep(250);
  }
}
