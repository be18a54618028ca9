import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findWorkspaceRoot, imageNodeFlags } from '@tally/devstack';
import { createStatusEventStore, floorTo, SERIES_STEPS, type SeriesStep } from '@tally/store';
import { describe, expect, it } from 'vitest';
import { Scenario, scenarioPerTest } from './test/scenario';

const root = findWorkspaceRoot(import.meta.dirname);
const perTest = scenarioPerTest();
const DAY_MS = 86_400_000;
const POINTS = 1500;

/** The API container's memory limit in deploy/k8s, in bytes. */
function k8sMemoryLimitBytes(): number {
  const manifest = readFileSync(join(root, 'deploy', 'k8s', 'base', 'api.yaml'), 'utf8');
  const mi = /limits:\s*\n(?:\s+\w+: .*\n)*?\s+memory: (\d+)Mi\s*$/m.exec(manifest)?.[1];
  if (!mi) throw new Error('No memory limit in deploy/k8s/base/api.yaml');
  return Number(mi) * 1024 * 1024;
}

function peakRssBytes(pid: number): number {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kib) * 1024;
}

describe('the API under a burst of charts', () => {
  it('answers parallel 1,500-point series with 200 or 503 busy, survives, and stays under its Kubernetes memory limit', async () => {
    const s = perTest(await Scenario.create('faults-api-burst'));
    // A reading a minute for 16 days: every minute bucket of a 1,500-point series of quarter hours exists.
    const start = floorTo(Date.now(), DAY_MS) - 20 * DAY_MS;
    const store = createStatusEventStore({ db: s.events.db });
    await store.ensureIndexes();
    for (let minute = 0; minute < 16 * 1440; minute += 1000) {
      const batch = Array.from({ length: Math.min(1000, 16 * 1440 - minute) }, (_, i) => {
        const ts = new Date(start + (minute + i) * 60_000 + 7_000);
        return { _id: randomUUID(), status: (minute + i) % 7, ts, receivedAt: ts };
      });
      await store.insertReadings(batch);
    }
    while ((await store.rollups.refresh({ limit: 20_000 })).pending > 0);

    const flags = imageNodeFlags(root, 'api');
    expect(flags.join(' '), 'the image sets a heap limit').toMatch(/--max-old-space-size=\d+/);
    const api = await s.startApi({ NODE_OPTIONS: flags.join(' ') });
    let exited = false;
    void api.app.exited.then(() => (exited = true));
    const series = (step: SeriesStep) => {
      const end = new Date(start + POINTS * SERIES_STEPS[step].ms).toISOString();
      return `http://127.0.0.1:${api.port}/status-counts/series?start_time=${new Date(start).toISOString()}&end_time=${end}&step=${step}`;
    };
    const rounds: SeriesStep[][] = [
      Array.from({ length: 100 }, () => '15m'),
      Array.from({ length: 100 }, (_, i) => (['1m', '15m', '6h', '1d'] as const)[i % 4] as SeriesStep),
      Array.from({ length: 100 }, () => '5m'),
    ];
    for (const steps of rounds) {
      const answers = await Promise.all(
        steps.map(async (step) => {
          try {
            const response = await fetch(series(step));
            const body = (await response.json()) as { points?: unknown[]; error?: { code: string } };
            return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
          } catch (error) {
            return { status: 0, retryAfter: null, body: { failed: String(error) } as { points?: unknown[]; error?: { code: string } } };
          }
        }),
      );
      const unexpected = answers.filter(
        ({ status, retryAfter, body }) =>
          !(status === 200 && body.points?.length === POINTS) && !(status === 503 && retryAfter !== null && body.error?.code === 'busy'),
      );
      expect(unexpected.slice(0, 3)).toEqual([]);
      expect(answers.filter(({ status }) => status === 200).length).toBeGreaterThan(0);
    }

    expect(exited, 'the API is still running').toBe(false);
    expect((await fetch(`http://127.0.0.1:${api.port}/healthz`)).status).toBe(200);
    const peak = peakRssBytes(api.app.pid ?? 0);
    const limit = k8sMemoryLimitBytes();
    process.stdout.write(`API peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB (limit ${limit / 2 ** 20} MiB, node ${flags.join(' ')})\n`);
    expect(peak).toBeLessThan(limit);
  });
});
