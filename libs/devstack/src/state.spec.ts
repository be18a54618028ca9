import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claimState, devstackDir, readState, waitForDevstack, writeState } from './state';

function workspace(): string {
  const root = mkdtempSync(join(tmpdir(), 'tally-devstack-'));
  writeFileSync(join(root, 'nx.json'), '{}');
  return root;
}

describe('state file', () => {
  it('can be claimed by one process only', () => {
    const dir = devstackDir(workspace());
    expect(claimState(dir)).toBe(true);
    expect(claimState(dir)).toBe(false);
    expect(readState(dir)).toMatchObject({ pid: process.pid, status: 'starting' });
  });
});

describe('waitForDevstack', () => {
  const urls = {
    amqpUrl: 'amqp://a',
    mqttUrl: 'mqtt://m',
    managementUrl: undefined,
    mongodbUri: 'mongodb://d',
  };

  it('rejects at once when the devstack reports a failed start', async () => {
    const root = workspace();
    mkdirSync(devstackDir(root), { recursive: true });
    writeState(devstackDir(root), { status: 'failed', error: 'RabbitMQ is not installed' });
    await expect(waitForDevstack({ root, timeoutMs: 60_000 })).rejects.toThrow(
      'The devstack failed to start: RabbitMQ is not installed',
    );
  });

  it('ignores a ready state left by a process that is gone, and says how to start one', async () => {
    const root = workspace();
    mkdirSync(devstackDir(root), { recursive: true });
    writeFileSync(
      join(devstackDir(root), 'state.json'),
      JSON.stringify({ pid: 2 ** 22 + 1, status: 'ready', updatedAt: new Date().toISOString(), urls }),
    );
    await expect(waitForDevstack({ root, timeoutMs: 300 })).rejects.toThrow(/npx nx run devstack:serve/);
  });
});
