import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMongoServer, waitForDevstack } from '@tally/devstack';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_SETTINGS } from './engine';
import { DEVICE_PAGE, queryKinds } from './questions';
import { STORAGE_PARTS } from './storage';
import type { BenchResult } from './report';
import { ZONE_SERIES, zoneKind } from './zones';

const appDir = join(import.meta.dirname, '..');
/**
 * The smallest run that still goes through every phase: what can break here is the harness
 * running at all, and the checks it makes itself as it goes (each reading stored once, the API's
 * counts equal to the raw pipeline's, every engine setting counting exactly), which end it with
 * status 1. What it measures is for `npm run bench` to report, not for a test to bound.
 */
const SMOKE = { readings: 300, naive: 50, queryReadings: 2000, zonesReadings: 2000, retentionReadings: 2000, samples: 1, apiSamples: 2, healthzSeconds: 1, engineReadings: 300, devices: 20, liveClients: 5, liveSeconds: 3 };
let result: BenchResult;
let stdout = '';

beforeAll(async () => {
  await waitForDevstack();
  const out = mkdtempSync(join(tmpdir(), 'tally-bench-'));
  try {
    const args = ['--quick', '--out', out, '--readings', SMOKE.readings, '--naive', SMOKE.naive, '--query-readings', SMOKE.queryReadings];
    args.push('--samples', SMOKE.samples, '--api-samples', SMOKE.apiSamples, '--healthz-seconds', SMOKE.healthzSeconds, '--engine-readings', SMOKE.engineReadings);
    // The drain beside expiry is the ingest phase's harness, run above: left out to keep this cheap.
    args.push('--retention-readings', SMOKE.retentionReadings, '--retention-drain', 0);
    args.push('--devices', SMOKE.devices, '--zones-readings', SMOKE.zonesReadings, '--live-clients', SMOKE.liveClients, '--live-seconds', SMOKE.liveSeconds);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args.map(String)], {
      cwd: appDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, stderr).toBe(0);
    const [json, markdown, ...others] = readdirSync(out).sort();
    expect(json).toMatch(/^\d{8}T\d{6}Z\.json$/);
    expect(markdown).toBe(json?.replace(/json$/, 'md'));
    expect(others).toEqual([]);
    result = JSON.parse(readFileSync(join(out, json ?? ''), 'utf8')) as BenchResult;
    expect(`\n${readFileSync(join(out, markdown ?? ''), 'utf8')}`).toBe(stdout);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 300_000);

describe('npm run bench, at the smallest sizes', () => {
  it('times every trickle reading at every live stream client (the harness fails when one never arrives)', () => {
    expect(result.live?.small).toMatchObject({ clients: 1, trickle: SMOKE.liveSeconds, latencyMs: { samples: SMOKE.liveSeconds } });
    expect(result.live?.big).toMatchObject({ clients: SMOKE.liveClients, latencyMs: { samples: SMOKE.liveClients * SMOKE.liveSeconds } });
    expect(stdout).toContain('### Live streams');
  });

  it('records the sizes it ran with', () => {
    expect(result).toMatchObject({
      quick: true,
      sizes: {
        readings: SMOKE.readings,
        naiveReadings: SMOKE.naive,
        queryReadings: [SMOKE.queryReadings],
        zonesReadings: SMOKE.zonesReadings,
        samples: SMOKE.samples,
        healthzSeconds: SMOKE.healthzSeconds,
        engineReadings: SMOKE.engineReadings,
        devices: SMOKE.devices,
      },
    });
  });

  it('stores every published reading, through AMQP, MQTT and the naive processor', () => {
    const { ingest } = result;
    for (const [run, readings] of [
      [ingest?.amqp, SMOKE.readings],
      [ingest?.mqtt, SMOKE.readings],
      [ingest?.naive, SMOKE.naive],
    ] as const) {
      expect(run?.publish).toMatchObject({ readings, queued: readings });
      expect(run?.drain).toMatchObject({ readings, stored: readings, exitCode: 0 });
    }
    expect(result.consumers?.map((consumer) => consumer.readings)).toEqual(result.consumers?.map(() => SMOKE.readings));
  });

  it('drains the same backlog through 1, 4 and 16 partitions, by one processor and by two, storing every reading', () => {
    const runs = result.partitions?.runs ?? [];
    expect(runs.map(({ partitions, processors }) => [partitions, processors])).toEqual([[1, 1], [1, 2], [4, 1], [4, 2], [16, 1], [16, 2]]);
    for (const run of runs) {
      expect(run).toMatchObject({ readings: SMOKE.readings, stored: SMOKE.readings });
      expect(run.processorCpuMicros).toHaveLength(run.processors);
      expect(run.brokerCpuMicros).toHaveLength(1);
    }
    // --quick: one pair, the grid's own drains of 1 and 4 partitions by one processor.
    const [one, four] = [runs[0], runs[2]];
    expect(result.partitions?.pairs).toEqual([{ drain: expect.closeTo((four?.perSecond ?? 0) / (one?.perSecond ?? 1), 2), brokerCpu: expect.toBeOneOf([null, expect.any(Number)]) }]);
    expect(result.partitions?.ratios.fourToOneDrain).toBe(result.partitions?.pairs[0]?.drain);
  });

  it('counts through the API what the raw pipeline counts, for the fleet and per device, and the 30-day range every stored reading', () => {
    const [size] = result.query?.sizes ?? [];
    const row = (name: string) => size?.queries.find((query) => query.name === name);
    expect(size?.queries.map((query) => query.name)).toEqual(queryKinds().map((kind) => kind.name));
    // The harness compares each answer with the raw pipeline's as it goes, and fails the run on a difference.
    expect(size?.queries.map((query) => query.raw.latenciesMs.length)).toEqual(queryKinds().map(() => SMOKE.samples));
    expect(row('POST /status-counts, 30 days')?.totals).toEqual(Array(SMOKE.apiSamples).fill(SMOKE.queryReadings));
    // Each device reports in turn: a month holds its share exactly.
    expect(row('GET /status-counts, 1 device, 30 days')?.totals).toEqual(Array(SMOKE.apiSamples).fill(SMOKE.queryReadings / SMOKE.devices));
    expect(row(`GET /devices, ${DEVICE_PAGE} a page`)?.totals.every((listed) => listed > 0)).toBe(true);
    expect(result.query?.healthz.errors).toBe(0);
    expect(result.query?.apiExitCodes).toEqual([0]);
  });

  it('answers series in time zones and in UTC as the raw pipeline counts their ranges', () => {
    const { zones } = result;
    expect(zones?.series.map((series) => series.name)).toEqual(ZONE_SERIES.map((series) => zoneKind(series).name));
    // The harness compares each answer with the raw pipeline's as it goes, and fails the run on a difference.
    expect(zones?.series.map((series) => series.raw.latenciesMs.length)).toEqual(ZONE_SERIES.map(() => SMOKE.samples));
    // A year of New York months holds nearly every reading of the year the data spans.
    expect(zones?.series[2]?.totals.every((total) => total > SMOKE.zonesReadings * 0.9)).toBe(true);
  });

  it('expires the raw readings of 31 of 35 days, and counts them after as before', () => {
    const { retention } = result;
    // The harness compares each count after expiry with the one before, and fails the run on a difference.
    expect(retention).toMatchObject({ readings: SMOKE.retentionReadings, count: { samples: 5 } });
    expect(retention?.expired).toBeGreaterThan(SMOKE.retentionReadings * 0.85);
    expect(retention?.drain).toBeUndefined();
    expect(stdout).toContain('### Retention');
  });

  it('measures what the readings and their rollups take on disk', () => {
    const parts = result.query?.sizes[0]?.storage.parts ?? [];
    expect(parts.map((part) => part.part)).toEqual(STORAGE_PARTS.map((part) => part.part));
    for (const part of parts) expect(part.documentBytes).toBeGreaterThan(0);
  });

  it('counts exactly under each DocumentDB index setting (FerretDB + DocumentDB only)', () => {
    const { engine } = result;
    if (findMongoServer()?.kind !== 'ferretdb') {
      expect(engine).toEqual({ skipped: 'the MongoDB-wire server here is not FerretDB + DocumentDB' });
      return;
    }
    if (!engine || 'skipped' in engine) throw new Error(`engine phase missing or skipped: ${JSON.stringify(engine)}`);
    expect(engine.variants.map((v) => [v.compositeIndexes, v.exact])).toEqual(ENGINE_SETTINGS.map((s) => [s.compositeIndexes, true]));
  });
});
