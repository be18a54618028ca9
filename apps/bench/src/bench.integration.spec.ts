import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMongoServer, waitForDevstack } from '@tally/devstack';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_CLIENTS } from './consumers';
import { ENGINE_RANGES, ENGINE_SETTINGS } from './engine';
import { NAIVE_ENV, type QueueRun } from './ingest';
import { QUICK_SIZES } from './options';
import { RANGES, SERIES } from './query';
import type { BenchResult } from './report';

const appDir = join(import.meta.dirname, '..');
let result: BenchResult;
let stdout = '';

/** The harness as `npm run bench -- --quick` runs it, writing its JSON into a directory of its own. */
beforeAll(async () => {
  await waitForDevstack();
  const out = mkdtempSync(join(tmpdir(), 'tally-bench-'));
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--quick', '--out', out], {
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
}, 180_000);

describe('npm run bench -- --quick', () => {
  it('records the quick sizes, the machine and the servers', () => {
    expect(result).toMatchObject({ version: 1, quick: true, sizes: QUICK_SIZES });
    expect(result.machine.cpus).toBeGreaterThan(0);
    expect(result.servers.rabbitmq).toMatch(/^RabbitMQ \d/);
    expect(result.servers.mongodb).toMatch(/^(FerretDB v\d+\.\d+\.\d+|MongoDB \d+\.\d+\.\d+)$/);
  });

  it('stores every published reading, through AMQP, MQTT and the naive processor', () => {
    const { ingest } = result;
    expect(ingest?.direct.readings).toBe(QUICK_SIZES.readings);
    expect(ingest?.direct.perSecond).toBeGreaterThan(0);
    const runs: [QueueRun | undefined, number][] = [
      [ingest?.amqp, QUICK_SIZES.readings],
      [ingest?.mqtt, QUICK_SIZES.readings],
      [ingest?.naive, QUICK_SIZES.naiveReadings],
    ];
    for (const [run, readings] of runs) {
      expect(run?.publish).toMatchObject({ readings, queued: readings });
      expect(run?.publish.perSecond).toBeGreaterThan(0);
      expect(run?.drain).toMatchObject({ readings, stored: readings, exitCode: 0 });
      expect(run?.drain.perSecond).toBeGreaterThan(0);
      expect(run?.drain.cpuSeconds).toBeGreaterThan(0);
      expect(run?.drain.peakRssMb).toBeGreaterThan(0);
    }
    expect(ingest?.amqp.publish.transport).toBe('amqp');
    expect(ingest?.mqtt.publish.transport).toBe('mqtt');
    expect(ingest?.naive.drain.env).toEqual(NAIVE_ENV);
    for (const ratio of Object.values(ingest?.ratios ?? {})) expect(ratio).toBeGreaterThan(0);
  });

  it('times each AMQP client consuming the readings alone', () => {
    expect(result.consumers?.map((consumer) => consumer.client)).toEqual([...CONSUMER_CLIENTS]);
    for (const consumer of result.consumers ?? []) {
      expect(consumer.readings).toBe(QUICK_SIZES.readings);
      expect(consumer.perSecond).toBeGreaterThan(0);
      expect(consumer.cpuMicrosPerMessage).toBeGreaterThan(0);
    }
  });

  it('times every range through the API and the raw pipeline, and the 30-day range counts every stored reading', () => {
    const { query } = result;
    const [readings] = QUICK_SIZES.queryReadings as [number];
    expect(query?.sizes.map((size) => size.readings)).toEqual([readings]);
    const [size] = query?.sizes ?? [];
    expect(size?.ranges.map((r) => r.name)).toEqual(RANGES.map((r) => r.name));
    for (const range of size?.ranges ?? []) {
      for (const timed of [range, range.raw]) {
        expect(timed.latenciesMs).toHaveLength(QUICK_SIZES.samples);
        expect(timed.p50).toBeGreaterThan(0);
        expect(timed.p50).toBeLessThanOrEqual(timed.p95);
        expect(timed.p95).toBeLessThanOrEqual(timed.p99);
      }
      for (const total of range.totals) expect(total).toBeLessThanOrEqual(readings);
    }
    expect(size?.ranges.at(-1)?.totals).toEqual(Array(QUICK_SIZES.samples).fill(readings));
    expect(size?.series).toMatchObject({ step: SERIES.step, points: 720 });
    expect(size?.series.latenciesMs).toHaveLength(QUICK_SIZES.samples);
    if (!size?.seed.reused) expect(size?.seed.rollupSeconds).toBeGreaterThan(0);
    expect(query?.healthz.perSecond).toBeGreaterThan(0);
    expect(query?.healthz.errors).toBe(0);
    expect(query?.apiExitCodes).toEqual([0]);
  });

  it('inserts and counts exactly under each DocumentDB index setting (FerretDB + DocumentDB only)', () => {
    const { engine } = result;
    if (findMongoServer()?.kind !== 'ferretdb') {
      expect(engine).toEqual({ skipped: 'the MongoDB-wire server here is not FerretDB + DocumentDB' });
      return;
    }
    if (!engine || 'skipped' in engine) throw new Error(`engine phase missing or skipped: ${JSON.stringify(engine)}`);
    expect(engine).toMatchObject({ readings: QUICK_SIZES.engineReadings, samples: QUICK_SIZES.samples });
    expect(engine.variants.map((v) => v.compositeIndexes)).toEqual(ENGINE_SETTINGS.map((s) => s.compositeIndexes));
    for (const variant of engine.variants) {
      expect(variant.insertsPerSecond).toBeGreaterThan(0);
      expect(variant.ranges.map((r) => r.name)).toEqual(ENGINE_RANGES.map((r) => r.name));
      for (const range of variant.ranges) expect(range.latenciesMs).toHaveLength(QUICK_SIZES.samples);
    }
    expect(stdout).toContain('| DocumentDB defaults |');
  });

  it('prints the results as Markdown tables', () => {
    expect(stdout).toContain('| measurement | readings | readings/s |');
    expect(stdout).toContain('| naive processor (prefetch 1, batch 1) | 500 |');
    expect(stdout).toContain('| query | 20,000: API p50 / p99 ms | raw p50 / p99 ms |');
    expect(stdout).toContain('| POST /status-counts, 30 days |');
    expect(stdout).toContain('| GET /status-counts/series, 30 days at 1 h (720 points) |');
  });
});
