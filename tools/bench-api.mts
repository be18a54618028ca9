/**
 * API benchmark (issue: API speed). Needs a running devstack and built apps:
 *   npx nx build api && npx tsx tools/bench-api.mts [samplesPerRange=5] [readings=1000000]
 * Stores `readings` readings over 30 days once (kept in database bench_api for later runs), then
 * measures POST /status-counts latency for ranges of 1 minute, 1 hour, 1 day and 30 days, /healthz
 * requests/s with wrk (Debian package `wrk`), and the API's peak RSS.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitForDevstack } from '@tally/devstack';
import { MongoClient } from 'mongodb';

const samples = Number(process.argv[2] ?? 5);
const readings = Number(process.argv[3] ?? 1_000_000);
const root = join(import.meta.dirname, '..');
const urls = await waitForDevstack({ root });
const uri = urls.mongodbUri.replace(/\/tally$/, '/bench_api');
const DAY = 86_400_000;
const start = Date.parse('2026-01-01T00:00:00Z');

const mongo = await MongoClient.connect(uri);
const events = mongo.db().collection('status_events');
if ((await events.estimatedDocumentCount()) !== readings) {
  await events.drop().catch(() => undefined);
  await events.createIndex({ ts: 1, status: 1 });
  const began = performance.now();
  for (let i = 0; i < readings; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, readings - i) }, () => ({
      _id: randomUUID(),
      status: randomInt(0, 7),
      ts: new Date(start + randomInt(0, 30 * DAY)),
      receivedAt: new Date(),
    }));
    await events.insertMany(batch, { ordered: false });
  }
  console.log(`stored ${readings} readings in ${((performance.now() - began) / 1000).toFixed(1)} s`);
}
await mongo.close();

const port = 18_000 + randomInt(0, 1000);
const api = spawn(process.execPath, [join(root, 'dist/apps/api/main.js')], {
  env: { PATH: process.env['PATH'], MONGODB_URI: uri, API_PORT: String(port), API_REQUEST_TIMEOUT_MS: '300000', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  if ((await fetch(`${base}/readyz`).then((r) => r.status).catch(() => 0)) === 200) break;
  if (i > 100) throw new Error('API did not become ready');
  await new Promise((resolve) => setTimeout(resolve, 100));
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const ranges: [string, number][] = [['1 minute', 60_000], ['1 hour', 3_600_000], ['1 day', DAY], ['30 days', 30 * DAY]];
console.log(`POST /status-counts over ${readings} readings, ${samples} samples per range`);
console.log('range       p50 ms    p95 ms    p99 ms');
for (const [name, length] of ranges) {
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const from = start + randomInt(0, Math.max(1, 30 * DAY - length));
    const began = performance.now();
    const response = await fetch(`${base}/status-counts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ start_time: new Date(from).toISOString(), end_time: new Date(from + length).toISOString() }),
    });
    await response.json();
    if (response.status !== 200) throw new Error(`status ${response.status}`);
    latencies.push(performance.now() - began);
  }
  latencies.sort((a, b) => a - b);
  const cells = [50, 95, 99].map((p) => percentile(latencies, p).toFixed(0).padStart(9));
  console.log(`${name.padEnd(9)}${cells.join(' ')}`);
}

const wrk = spawnSync('wrk', ['-t2', '-c64', '-d10s', `${base}/healthz`], { encoding: 'utf8' });
if (wrk.error) console.log('wrk not found (apt-get install wrk): /healthz throughput not measured');
else console.log(`/healthz with wrk -t2 -c64 -d10s: ${/Requests\/sec:\s+([\d.]+)/.exec(wrk.stdout)?.[1]} requests/s`);
const peak = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${api.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
console.log(`API peak RSS: ${peak.toFixed(0)} MB`);
api.kill('SIGTERM');
