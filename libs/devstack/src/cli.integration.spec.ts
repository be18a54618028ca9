import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireMongoServer } from './mongodb';
import type { DevstackUrls } from './services';
import { devstackDir, readState, waitForDevstack } from './state';

const cli = join(import.meta.dirname, '..', 'bin', 'devstack.js');
let shared: DevstackUrls;

beforeAll(async () => {
  requireMongoServer();
  shared = await waitForDevstack();
});

/** Which of `pids` lead a process group that has a live process (each server the devstack starts leads one). */
function liveGroupsOf(pids: readonly number[]): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pgid='], { encoding: 'utf8' });
  const groups = new Set(out.split('\n').map(Number));
  return pids.filter((pid) => groups.has(pid)).sort((a, b) => a - b);
}

/**
 * `devstack up` in a workspace of its own that starts a MongoDB-wire server (the broker is the
 * shared devstack's, given in the environment); resolves with it and its servers' pids once ready.
 */
async function startDevstackCli(root: string): Promise<{ child: ChildProcess; pids: number[] }> {
  writeFileSync(join(root, 'nx.json'), '{}');
  const child = spawn(process.execPath, [cli, 'up'], {
    cwd: root,
    env: { ...process.env, AMQP_URL: shared.amqpUrl, MQTT_URL: shared.mqttUrl, MONGODB_URI: '', DEVSTACK_DOCKER: 'false' },
    stdio: 'ignore',
  });
  const urls = await waitForDevstack({ root, timeoutMs: 60_000 });
  expect(urls.amqpUrl).toBe(shared.amqpUrl);
  const mongodb = readState(devstackDir(root))?.services?.find((service) => service.name === 'mongodb');
  expect(mongodb?.pids.length).toBeGreaterThan(0);
  return { child, pids: mongodb?.pids ?? [] };
}

describe('devstack up', () => {
  let root: string | undefined;
  let child: ChildProcess | undefined;

  afterEach(() => {
    child?.kill('SIGKILL');
    if (root) rmSync(root, { recursive: true, force: true });
  });

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(`leaves no server process behind after ${signal}`, async () => {
      root = mkdtempSync(join(tmpdir(), 'tally-devstack-cli-'));
      chmodSync(root, 0o755); // PostgreSQL runs as its own user when we are root, and must reach its data
      const started = await startDevstackCli(root);
      child = started.child;
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      expect(liveGroupsOf(started.pids)).toEqual([...started.pids].sort((a, b) => a - b));

      child.kill(signal);
      await exited;
      await expect
        .poll(() => liveGroupsOf(started.pids), { timeout: 20_000, interval: 200 })
        .toEqual([]);
    }, 90_000);
  }
});
