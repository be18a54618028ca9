import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { devstackDir, findMongoServer, findWorkspaceRoot, readState, waitForDevstack } from '@tally/devstack';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_CLIENTS } from './consumers';
import { ENGINE_RANGES, ENGINE_SETTINGS } from './engine';
import { NAIVE_ENV, type QueueRun } from './ingest';
import { PROCESSOR_IMAGE_NODE_OPTIONS, QUICK_SIZES } from './options';
import { round } from './stats';
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

/**
 * `perSecond` is `count / seconds` rounded, from the unrounded seconds: with `seconds` rounded to
 * 0.01 s in the JSON, the two agree to within that rounding.
 */
function expectRate({ perSecond, seconds }: { perSecond: number; seconds: number }, count: number): void {
  expect(Number.isInteger(perSecond), `perSecond ${perSecond} is a whole number`).toBe(true);
  expect(seconds).toBeGreaterThan(0);
  const [low, high] = [count / (seconds + 0.005) - 1, count / Math.max(seconds - 0.005, 0.001) + 1];
  expect(perSecond, `${count} in ${seconds} s`).toBeGreaterThanOrEqual(Math.floor(low));
  expect(perSecond, `${count} in ${seconds} s`).toBeLessThanOrEqual(Math.ceil(high));
}

/** Latencies in milliseconds: one per sample, each a positive finite number. */
function expectLatencies(latenciesMs: readonly number[], samples: number): void {
  expect(latenciesMs).toHaveLength(samples);
  for (const ms of latenciesMs) expect(Number.isFinite(ms) && ms > 0, `latency ${ms} ms`).toBe(true);
}

describe('npm run bench -- --quick', () => {
  it('records the quick sizes, when it ran, the machine and the servers', () => {
    expect(Object.keys(result).sort()).toEqual(
      ['version', 'startedAt', 'finishedAt', 'quick', 'sizes', 'processorNodeOptions', 'machine', 'servers', 'ingest', 'consumers', 'query', 'engine'].sort(),
    );
    expect(result).toMatchObject({ version: 1, quick: true, sizes: QUICK_SIZES });
    expect(result.processorNodeOptions).toBe(PROCESSOR_IMAGE_NODE_OPTIONS);
    const [started, finished] = [Date.parse(result.startedAt), Date.parse(result.finishedAt)];
    expect(new Date(started).toISOString()).toBe(result.startedAt);
    expect(finished - started).toBeGreaterThan(0);
    expect(finished - started).toBeLessThan(180_000);
    expect(result.machine).toEqual({
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim(),
      memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      os: `${process.platform} ${release()}`,
    });
    expect(result.servers.rabbitmq).toMatch(/^RabbitMQ \d+\.\d+\.\d+$/);
    expect(result.servers.mongodb).toMatch(/^(FerretDB v\d+\.\d+\.\d+|MongoDB \d+\.\d+\.\d+)$/);
    const state = readState(devstackDir(findWorkspaceRoot(appDir)));
    expect(result.servers.sources).toEqual(Object.fromEntries((state?.services ?? []).map((s) => [s.name, s.source])));
  });

  it('stores every published reading, through AMQP, MQTT and the naive processor', () => {
    const { ingest } = result;
    expect(ingest?.direct.readings).toBe(QUICK_SIZES.readings);
    expectRate(ingest?.direct ?? { perSecond: NaN, seconds: NaN }, QUICK_SIZES.readings);
    const runs: [QueueRun | undefined, number][] = [
      [ingest?.amqp, QUICK_SIZES.readings],
      [ingest?.mqtt, QUICK_SIZES.readings],
      [ingest?.naive, QUICK_SIZES.naiveReadings],
    ];
    for (const [run, readings] of runs) {
      if (!run) throw new Error('ingest run missing');
      // Every reading published was queued, and every queued one stored, by a processor that exited 0.
      expect(Object.keys(run.publish).sort()).toEqual(['perSecond', 'queued', 'readings', 'seconds', 'transport']);
      expect(run.publish).toMatchObject({ readings, queued: readings });
      expectRate(run.publish, readings);
      expect(run.drain).toMatchObject({ readings, stored: readings, exitCode: 0 });
      expectRate(run.drain, readings);
      expect(run.drain.cpuSeconds).toBeGreaterThan(0);
      // cpuCores is the CPU seconds over the wall seconds (both unrounded, then rounded to 0.01).
      expect(Math.abs(run.drain.cpuCores - run.drain.cpuSeconds / run.drain.seconds)).toBeLessThan(0.05);
      // The processor runs with --max-old-space-size=160: its peak RSS is whole megabytes, and bounded.
      expect(Number.isInteger(run.drain.peakRssMb)).toBe(true);
      expect(run.drain.peakRssMb).toBeGreaterThan(30);
      expect(run.drain.peakRssMb).toBeLessThan(512);
      expect(run.drain.startupSeconds).toBeGreaterThan(0);
      // Measured once no bucket was dirty: at or after the drain's end.
      expect(run.drain.rollupsSettledSeconds).toBeGreaterThanOrEqual(0);
    }
    expect(ingest?.amqp.publish.transport).toBe('amqp');
    expect(ingest?.mqtt.publish.transport).toBe('mqtt');
    expect(ingest?.naive.publish.transport).toBe('amqp');
    expect(ingest?.naive.drain.env).toEqual(NAIVE_ENV);
    const { direct, amqp, mqtt, naive } = ingest ?? ({} as NonNullable<typeof ingest>);
    expect(ingest?.ratios).toEqual({
      amqpToDirect: round(amqp.drain.perSecond / direct.perSecond, 3),
      mqttToDirect: round(mqtt.drain.perSecond / direct.perSecond, 3),
      amqpToNaive: round(amqp.drain.perSecond / naive.drain.perSecond, 1),
    });
  });

  it('times each AMQP client consuming the readings alone', () => {
    expect(result.consumers?.map((consumer) => consumer.client)).toEqual([...CONSUMER_CLIENTS]);
    for (const consumer of result.consumers ?? []) {
      expect(Object.keys(consumer).sort()).toEqual(['client', 'cpuMicrosPerMessage', 'perSecond', 'readings', 'seconds']);
      expect(consumer.readings).toBe(QUICK_SIZES.readings);
      expectRate(consumer, QUICK_SIZES.readings);
      // CPU per message cannot exceed what every core of the machine could give it meanwhile.
      expect(consumer.cpuMicrosPerMessage).toBeGreaterThan(0);
      expect(consumer.cpuMicrosPerMessage).toBeLessThanOrEqual(((consumer.seconds + 0.005) * 1e6 * cpus().length) / consumer.readings);
    }
  });

  it('times every range through the API and the raw pipeline, and the 30-day range counts every stored reading', () => {
    const { query } = result;
    const [readings] = QUICK_SIZES.queryReadings as [number];
    expect(query?.sizes.map((size) => size.readings)).toEqual([readings]);
    const [size] = query?.sizes ?? [];
    expect(size?.ranges.map((r) => r.name)).toEqual(RANGES.map((r) => r.name));
    for (const range of size?.ranges ?? []) {
      expect(range.ms).toBe(RANGES.find((r) => r.name === range.name)?.ms);
      for (const [timed, samples] of [[range, QUICK_SIZES.apiSamples], [range.raw, QUICK_SIZES.samples]] as const) {
        expectLatencies(timed.latenciesMs, samples);
        const sorted = [...timed.latenciesMs].sort((a, b) => a - b);
        // Percentiles of the samples: within their range, in order.
        expect(timed.p50).toBeGreaterThanOrEqual(sorted[0] ?? NaN);
        expect(timed.p50).toBeLessThanOrEqual(timed.p95);
        expect(timed.p95).toBeLessThanOrEqual(timed.p99);
        expect(timed.p99).toBeLessThanOrEqual(sorted.at(-1) ?? NaN);
      }
      expect(range.totals).toHaveLength(QUICK_SIZES.apiSamples);
      for (const total of range.totals) {
        expect(Number.isInteger(total)).toBe(true);
        expect(total).toBeGreaterThanOrEqual(0);
        expect(total).toBeLessThanOrEqual(readings);
      }
    }
    expect(size?.ranges.at(-1)?.totals).toEqual(Array(QUICK_SIZES.apiSamples).fill(readings));
    expect(size?.series).toMatchObject({ name: SERIES.name, step: SERIES.step, points: 720 });
    expectLatencies(size?.series.latenciesMs ?? [], QUICK_SIZES.apiSamples);
    // A seed made in this run says how long it took; one kept from an earlier run names its database.
    if (size?.seed.reused) expect(size.seed.database).toMatch(/^bench_/);
    else {
      expect(size?.seed.rollupSeconds).toBeGreaterThan(0);
      expectRate({ perSecond: size?.seed.perSecond ?? NaN, seconds: size?.seed.seconds ?? NaN }, readings);
    }
    expect(query?.healthz.errors).toBe(0);
    expect(query?.healthz.requests).toBeGreaterThan(0);
    expectRate(query?.healthz ?? { perSecond: NaN, seconds: NaN }, query?.healthz.requests ?? NaN);
    expect(query?.healthz.seconds).toBeGreaterThanOrEqual(QUICK_SIZES.healthzSeconds);
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
      // exact: every count under this setting equalled the count under the defaults.
      expect(variant.exact).toBe(true);
      expectRate({ perSecond: variant.insertsPerSecond, seconds: variant.insertSeconds }, QUICK_SIZES.engineReadings);
      expect(variant.ranges.map((r) => r.name)).toEqual(ENGINE_RANGES.map((r) => r.name));
      for (const range of variant.ranges) expectLatencies(range.latenciesMs, QUICK_SIZES.samples);
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
