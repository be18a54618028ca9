import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONSUMER_ACK_EVERY, CONSUMER_PREFETCH, type ConsumerResult } from './consumers';
import { DIRECT_BATCH, PUBLISH_WINDOW, type IngestResult, type QueueRun } from './ingest';
import { ENGINE_RANGES, type EngineResult } from './engine';
import type { MachineInfo, ServerInfo } from './machine';
import type { PartitionRun, PartitionsResult } from './partitions';
import { LIVE_LOAD_QUEUE, LIVE_STREAM, type LiveResult } from './live';
import type { QueryResult } from './query';
import type { RetentionResult } from './retention';
import type { ZonesResult } from './zones';
import { DEVICE_PAGE } from './questions';
import type { StorageResult } from './storage';

/** What `bench/results/<timestamp>.json` holds. */
export interface BenchResult {
  version: 1;
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  sizes: {
    readings: number;
    naiveReadings: number;
    queryReadings: number[];
    /** Absent in results from before the zones phase. */
    zonesReadings?: number;
    /** Absent in results from before the retention phase. */
    retentionReadings?: number;
    retentionDrain?: number;
    samples: number;
    healthzSeconds: number;
    engineReadings: number;
    /** Absent in results from before readings had devices. */
    devices?: number;
    /** Absent in results from before live streams. */
    liveClients?: number;
    liveSeconds?: number;
  };
  processorNodeOptions: string;
  machine: MachineInfo;
  servers: ServerInfo;
  /** Absent when the phase was not run (`--only`). */
  ingest?: IngestResult;
  /** AMQP clients consuming alone; measured with the ingest phase. */
  consumers?: ConsumerResult[];
  /** The drain through 1, 4 and 16 partitions, and 3 on a three-node cluster. */
  partitions?: PartitionsResult;
  query?: QueryResult;
  /** Series in time zones beside the same in UTC. */
  zones?: ZonesResult;
  /** Raw readings expired: their cost, what it frees, counts after. */
  retention?: RetentionResult;
  /** The engine under each DocumentDB index setting. */
  engine?: EngineResult;
  /** Live streams under load. */
  live?: LiveResult;
}

/** `20261127T053000Z`: ISO 8601 basic format, sortable, with no `:` for file systems that refuse it. */
export function timestampName(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Writes `<dir>/<timestamp>.json` and, beside it, the tables as `<timestamp>.md`; returns their paths. */
export function writeResult(dir: string, result: BenchResult): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, timestampName(new Date(result.startedAt)));
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(result));
  return { json: `${base}.json`, markdown: `${base}.md` };
}

const n = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number) => (value < 10 ? value.toFixed(1) : n(value));

/** The result as Markdown, to paste into bench/README.md. */
export function markdown(result: BenchResult): string {
  const { machine, servers } = result;
  const lines = [
    `## Tally benchmark, ${result.startedAt.replace(/\.\d+Z$/, 'Z')}${result.quick ? ' (--quick)' : ''}`,
    '',
    `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.os}; ` +
      `${servers.rabbitmq}, ${servers.mongodb}` +
      (Object.keys(servers.sources).length > 0
        ? ` (devstack: ${Object.entries(servers.sources)
            .map(([name, source]) => `${name} from ${source}`)
            .join(', ')})`
        : '') +
      `; processor NODE_OPTIONS "${result.processorNodeOptions}".`,
  ];
  if (result.ingest) lines.push('', ...ingestTable(result.ingest));
  if (result.consumers) lines.push('', ...consumersTable(result.consumers));
  if (result.partitions) lines.push('', ...partitionsTable(result.partitions));
  if (result.query) lines.push('', ...queryTable(result.query));
  if (result.zones) lines.push('', ...zonesTable(result.zones));
  if (result.retention) lines.push('', ...retentionTable(result.retention));
  if (result.engine) lines.push('', ...engineTable(result.engine));
  if (result.live) lines.push('', ...liveTable(result.live));
  return `${lines.join('\n')}\n`;
}

function liveTable(live: LiveResult): string[] {
  const row = (run: LiveResult['small']) =>
    `| ${n(run.clients)} | ${ms(run.latencyMs.p50)} | ${ms(run.latencyMs.p99)} | ${n(run.latencyMs.samples)} | ${ms(run.storedMs.p50)} | ${ms(run.storedMs.p99)} | ${run.storeQueriesPerSecond.toFixed(2)} | ` +
    `${ms(run.tickStoreMs)} | ${n(run.eventsPerSecond)} | ${run.apiCpuCores.toFixed(2)} | ${n(run.processorPerSecond)} |`;
  return [
    `### Live streams (\`GET ${LIVE_STREAM}\`): one reading a second over MQTT for ${n(live.big.trickle)} s, ` +
      `while the processor drains a catching-up fleet at its full rate (${n(LIVE_LOAD_QUEUE)} kept waiting)`,
    '',
    '| clients | publish → event p50 ms | p99 ms | events timed | publish → stored p50 ms | p99 ms | store queries/s | tick store ms | events/s | API CPU cores | processor readings/s |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    row(live.small),
    row(live.big),
    '',
    `API peak RSS ${n(live.apiPeakRssMb)} MB; store queries/s with ${n(live.big.clients)} clients ÷ with 1: ${live.queriesRatio.toFixed(2)}.`,
  ];
}

function consumersTable(consumers: readonly ConsumerResult[]): string[] {
  return [
    `### AMQP clients consuming alone: ${n(consumers[0]?.readings ?? 0)} readings, prefetch ${n(CONSUMER_PREFETCH)}, ` +
      `one ack per ${n(CONSUMER_ACK_EVERY)}`,
    '',
    '| client | messages/s | CPU µs per message |',
    '|---|---:|---:|',
    ...consumers.map(({ client, perSecond, cpuMicrosPerMessage }) => `| ${client} | ${n(perSecond)} | ${cpuMicrosPerMessage.toFixed(1)} |`),
  ];
}

function partitionsTable(partitions: PartitionsResult): string[] {
  const ratio = (value: number | null) => (value === null ? 'not measured (the drain passed within a CPU clock tick)' : `${value.toFixed(2)}×`);
  const micros = (values: readonly number[]) => values.map((value) => value.toFixed(1)).join(' + ');
  const row = (where: string, run: PartitionRun) =>
    `| ${where} | ${run.partitions} | ${run.processors} | ${n(run.readings)} | ${n(run.perSecond)} | ${micros(run.processorCpuMicros)} | ${micros(run.brokerCpuMicros)} |`;
  const { ratios, cluster } = partitions;
  return [
    `### Partitions: the same backlog from ${n(partitions.devices)} devices drained through 1, 4 and 16 partitions`,
    '',
    '| broker | partitions | processors | readings | readings/s | processor CPU µs per reading (each) | broker CPU µs per reading (each node) |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...partitions.runs.map((run) => row('devstack', run)),
    ...(cluster ? [row('3-node cluster', cluster.run)] : []),
    '',
    `One processor, 4 partitions ÷ 1 (the median of ${partitions.pairs.length} pairs of drains, one after the other): ` +
      `drain ${ratios.fourToOneDrain.toFixed(2)}× (each pair ${partitions.pairs.map((pair) => pair.drain.toFixed(2)).join(', ')}), ` +
      `broker CPU per reading ${ratio(ratios.fourToOneBrokerCpu)} (${partitions.pairs.map((pair) => ratio(pair.brokerCpu)).join(', ')}).` +
      (cluster
        ? ` Cluster: each node's share of the broker CPU ${cluster.nodeShares.map((share) => `${Math.round(share * 100)} %`).join(', ')}; leaders ${cluster.leaders.join(', ')}.`
        : ''),
  ];
}

function ingestTable(ingest: IngestResult): string[] {
  const { direct, ratios } = ingest;
  const drainRow = (what: string, run: QueueRun) => {
    const { drain } = run;
    const cpu = `${drain.cpuSeconds.toFixed(1)} s (${drain.cpuCores.toFixed(2)})`;
    const ratio = (drain.perSecond / direct.perSecond).toFixed(2);
    return `| ${what} | ${n(drain.readings)} | ${n(drain.perSecond)} | ${ratio} | ${cpu} | ${n(drain.peakRssMb)} |`;
  };
  const publishRow = (what: string, run: QueueRun) =>
    `| ${what} | ${n(run.publish.readings)} | ${n(run.publish.perSecond)} | | | |`;
  return [
    `### Ingest: ${n(ingest.amqp.drain.readings)} readings per transport from ${n(ingest.devices)} devices (each on its topic), the queue filled first`,
    '',
    '| measurement | readings | readings/s | × direct | processor CPU (cores) | peak RSS MB |',
    '|---|---:|---:|---:|---:|---:|',
    `| direct \`insertMany\`, batches of ${DIRECT_BATCH}, unordered | ${n(direct.readings)} | ${n(direct.perSecond)} ` +
      '| 1.00 | | |',
    publishRow(`publish over AMQP (confirms, ${n(PUBLISH_WINDOW)} in flight)`, ingest.amqp),
    drainRow('processor drains the AMQP-filled queue', ingest.amqp),
    publishRow(`publish over MQTT (QoS 1, ${n(PUBLISH_WINDOW)} in flight)`, ingest.mqtt),
    drainRow('processor drains the MQTT-filled queue', ingest.mqtt),
    drainRow('naive processor (prefetch 1, batch 1)', ingest.naive),
    '',
    `Processor ÷ direct: ${ratios.amqpToDirect.toFixed(2)} (AMQP), ${ratios.mqttToDirect.toFixed(2)} (MQTT). ` +
      `Processor ÷ naive: ${ratios.amqpToNaive.toFixed(1)}×. ` +
      `Rollups all refreshed ${ingest.amqp.drain.rollupsSettledSeconds.toFixed(1)} s (AMQP), ` +
      `${ingest.mqtt.drain.rollupsSettledSeconds.toFixed(1)} s (MQTT) after the drain (refreshes wait while the processor has a backlog).`,
  ];
}

function queryTable(query: QueryResult): string[] {
  const sizes = query.sizes;
  const [first, last] = [sizes[0], sizes.at(-1)];
  const samples = first?.queries[0]?.latenciesMs.length ?? 0;
  const rawSamples = first?.queries[0]?.raw.latenciesMs.length ?? 0;
  const pair = (p: { p50: number; p99: number } | undefined) => (p ? `${ms(p.p50)} / ${ms(p.p99)}` : '–');
  const header = sizes.map((size) => `${n(size.readings)}: API p50 / p99 ms | raw p50 / p99 ms`).join(' | ');
  const growthHeader = sizes.length > 1 ? ` API p99 ${n(last?.readings ?? 0)} ÷ ${n(first?.readings ?? 0)} |` : '';
  const rows = (first?.queries ?? []).map((figures, i) => {
    const growth = sizes.length > 1 ? ` ${((last?.queries[i]?.p99 ?? 0) / figures.p99).toFixed(2)} |` : '';
    return `| ${figures.name} | ${sizes.map((size) => `${pair(size.queries[i])} | ${pair(size.queries[i]?.raw)}`).join(' | ')} |${growth}`;
  });
  const seeds = sizes.map(({ readings, seed }) =>
    seed.reused
      ? `${n(readings)} kept from an earlier run in \`${seed.database}\``
      : `${n(readings)} ${seed.seconds === undefined ? 'kept' : `stored in ${seed.seconds.toFixed(1)} s (${n(seed.perSecond ?? 0)} readings/s)`}, ` +
        `rollups rebuilt in ${seed.rollupSeconds?.toFixed(1)} s`,
  );
  return [
    `### Query: readings over ${query.spanDays} days from ${n(first?.devices ?? 0)} devices, ${samples} API queries per row (the raw pipeline on ${rawSamples} of them)`,
    '',
    'API: the built API over HTTP, answering from the rollups. Raw: the same question to the aggregate pipeline over the raw readings, ' +
      'straight to the server (for a series, the total its points add up to; for a page, the listed devices\' counts, first and last readings).',
    '',
    `| query | ${header} |${growthHeader}`,
    `|---|${sizes.map(() => '---:|---:|').join('')}${sizes.length > 1 ? '---:|' : ''}`,
    ...rows,
    '',
    `GET /healthz: ${n(query.healthz.perSecond)} requests/s (${query.healthz.concurrency} in flight, keep-alive, ` +
      `${query.healthz.seconds.toFixed(0)} s, ${n(query.healthz.errors)} errors). ` +
      `API peak RSS ${n(query.apiPeakRssMb)} MB. Readings: ${seeds.join('; ')}. ` +
      `A device's readings: ${sizes.map((size) => n(size.readings / size.devices)).join(' / ')}; a page: ${DEVICE_PAGE} devices.`,
    ...(last ? ['', ...storageTable(last.storage)] : []),
  ];
}

function zonesTable(zones: ZonesResult): string[] {
  const { seed } = zones;
  const [first] = zones.series;
  const stored = seed.reused
    ? `kept from an earlier run in \`${seed.database}\``
    : `${seed.seconds === undefined ? 'kept' : `stored in ${seed.seconds.toFixed(1)} s`}, rollups rebuilt in ${seed.rollupSeconds?.toFixed(1)} s`;
  return [
    `### Series in time zones: ${n(zones.readings)} readings over ${zones.spanDays} days from ${n(zones.devices)} devices, ` +
      `${first?.latenciesMs.length ?? 0} API queries per row (the raw pipeline on ${first?.raw.latenciesMs.length ?? 0} of them)`,
    '',
    'Each from the local midnight of a random day, the range holding a change of the clocks in the zone; UTC the same from UTC midnight. ' +
      'Raw: the range\'s total from the raw readings (what the points add up to).',
    '',
    '| series | API p50 / p99 ms | raw p50 / p99 ms |',
    '|---|---:|---:|',
    ...zones.series.map(
      (figures) => `| ${figures.name.replace('GET /status-counts/series, ', '')} | ${ms(figures.p50)} / ${ms(figures.p99)} | ${ms(figures.raw.p50)} / ${ms(figures.raw.p99)} |`,
    ),
    '',
    `Readings ${stored}.`,
  ];
}

function retentionTable(r: RetentionResult): string[] {
  const raw = (storage: StorageResult) => storage.parts[0] as StorageResult['parts'][number];
  const rollups = (storage: StorageResult) => storage.parts.slice(1).reduce((sum, part) => sum + part.documentBytes + part.indexBytes, 0);
  const perReading = (bytes: number) => (bytes / r.readings).toFixed(1);
  return [
    `### Retention: ${n(r.readings)} readings over 35 days, the raw copies of ${n(r.expired)} (31 days) expired; load ${r.load.before} → ${r.load.after}`,
    '',
    '| what | figure |',
    '|---|---:|',
    `| store the readings (insert + rollup marks, batches of 500) | ${n(r.insert.perSecond)} readings/s |`,
    `| expire ${n(r.delete.readings)} of them alone | ${n(r.delete.perSecond)} readings/s (${r.deleteToInsert}× the insert), ${(1e6 / Math.max(r.delete.perSecond, 1)).toFixed(0)} µs per reading |`,
    ...(r.drain
      ? [
          `| processor drain of ${n(r.drain.without.readings)} without / during expiry | ${n(r.drain.without.perSecond)} / ${n(r.drain.during.perSecond)} readings/s (${r.drain.ratio}×; ${n(r.drain.deletedDuring)} deleted over ${r.drain.deleteSecondsDuring} s of it) |`,
        ]
      : []),
    `| raw readings on disk before / after (collStats: data + indexes) | ${perReading(raw(r.storage.before).documentBytes + raw(r.storage.before).indexBytes)} / ${perReading(raw(r.storage.after).documentBytes + raw(r.storage.after).indexBytes)} bytes per reading stored |`,
    `| rollups (fleet buckets, device slots, directory) before / after | ${perReading(rollups(r.storage.before))} / ${perReading(rollups(r.storage.after))} bytes per reading stored |`,
    `| 30-day count from whole minutes in the expired days (store, ${r.count.samples} samples) | p50 ${ms(r.count.p50)} / p99 ${ms(r.count.p99)} ms |`,
  ];
}

function storageTable(storage: StorageResult): string[] {
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  const perReading = (bytes: number) => (bytes / storage.readings).toFixed(1);
  const all = storage.parts.reduce((sum, part) => sum + part.documentBytes + part.indexBytes, 0);
  return [
    `### Storage at ${n(storage.readings)} readings (\`collStats\`)`,
    '',
    '| part | collections | documents MiB | indexes MiB | bytes per reading (documents + indexes) |',
    '|---|---|---:|---:|---:|',
    ...storage.parts.map(
      (part) =>
        `| ${part.part} | ${part.collections.map((c) => `\`${c.collection}\``).join(', ')} | ${mb(part.documentBytes)} | ${mb(part.indexBytes)} | ` +
        `${perReading(part.documentBytes)} + ${perReading(part.indexBytes)} = ${perReading(part.documentBytes + part.indexBytes)} |`,
    ),
    `| all | | | | ${perReading(all)} |`,
  ];
}

function engineTable(engine: EngineResult): string[] {
  if ('skipped' in engine) return ['### DocumentDB index settings', '', `Skipped: ${engine.skipped}.`];
  const p50p99 = (range: { p50: number; p99: number }) => `${ms(range.p50)} / ${ms(range.p99)}`;
  return [
    `### DocumentDB index settings: ${n(engine.readings)} readings over ${engine.spanDays} days, ` +
      `${engine.samples} counts per range`,
    '',
    `| setting | inserts/s (batches of 1,000) | ${ENGINE_RANGES.map((r) => `${r.name} p50 / p99 ms`).join(' | ')} |`,
    `|---|---:|${ENGINE_RANGES.map(() => '---:|').join('')}`,
    ...engine.variants.map(
      (v) => `| ${v.setting} | ${n(v.insertsPerSecond)} | ${v.ranges.map(p50p99).join(' | ')} |`,
    ),
    '',
    'Each in a private engine, counted with the API\'s pipeline (`countByStatus`) straight to the server; ' +
      'every count equalled the harness\'s own count of the readings it inserted.',
  ];
}
