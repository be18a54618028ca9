/*
 * The API's peak memory under bursts of parallel 1,500-point series requests: for each burst size,
 * a fresh API (a built bundle, with the given node flags) over 137,000 readings stored in the
 * devstack's server (kept for the next run), one request, then that many at once, and the
 * process's peak RSS (VmHWM) after them.
 *
 *   npx nx build api && node --import tsx apps/bench/src/series-burst.ts \
 *     [--step 15m] [--bursts 25,50,100] [--node-options "--max-old-space-size=128"] [--bundle dist/apps/api/main.js]
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { statusEventFor } from '@tally/contract';
import { findWorkspaceRoot, freePort, runApp, waitForDevstack, withDatabase } from '@tally/devstack';
import { MongoClient } from 'mongodb';
import { createStatusEventStore } from '@tally/store';
import { randomReading } from '@tally/messaging';
import { stopApp } from './context';
import { createHttpClient } from './http';
import { readPeakRssMb } from './proc';

const MINUTE_MS = 60_000;
const START = Date.parse('2026-01-01T00:00:00Z');
/** One reading every 19 s: every minute, hour and day of 30 days holds some. */
const READINGS = 137_000;
const INTERVAL_MS = 19_000;
const DATABASE = `bench_series_burst_${READINGS}_every_${INTERVAL_MS}ms`;
/** The series a burst asks for: 1,500 points of each step. */
const SERIES = [
  { step: '1m', ms: MINUTE_MS },
  { step: '5m', ms: 5 * MINUTE_MS },
  { step: '15m', ms: 15 * MINUTE_MS },
  { step: '1h', ms: 60 * MINUTE_MS },
  { step: '6h', ms: 360 * MINUTE_MS },
  { step: '1d', ms: 1440 * MINUTE_MS },
] as const;
const POINTS = 1500;

const { values } = parseArgs({
  options: {
    bursts: { type: 'string', default: '25,50,100' },
    'node-options': { type: 'string', default: '' },
    step: { type: 'string', default: '15m' },
    bundle: { type: 'string', default: 'dist/apps/api/main.js' },
  },
});
const bursts = values.bursts.split(',').map(Number);
const series = ((step) => {
  const found = SERIES.find((s) => s.step === step);
  if (!found) throw new Error(`--step: one of ${SERIES.map((s) => s.step).join(', ')}`);
  return found;
})(values.step);
const log = (line: string) => process.stderr.write(`${line}\n`);

async function seed(mongo: MongoClient): Promise<void> {
  const store = createStatusEventStore({ db: mongo.db(DATABASE) });
  if ((await store.collection.estimatedDocumentCount()) === READINGS && (await store.rollups.coverage()).getTime() <= START) return;
  log(`storing ${READINGS} readings in ${DATABASE}`);
  await mongo.db(DATABASE).dropDatabase();
  await store.ensureIndexes();
  for (let i = 0; i < READINGS; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, READINGS - i) }, (_, j) => {
      return statusEventFor(randomReading(new Date(START + (i + j) * INTERVAL_MS)), { device: undefined, receivedAt: new Date() });
    });
    await store.insertReadings(batch);
  }
  for (;;) {
    const { pending } = await store.rollups.refresh({ limit: 5000 });
    if (pending === 0) break;
  }
}

async function main(): Promise<void> {
  const root = findWorkspaceRoot(import.meta.dirname);
  const urls = await waitForDevstack({ root });
  const mongo = await MongoClient.connect(urls.mongodbUri);
  try {
    await seed(mongo);
    const start = new Date(START).toISOString();
    const end = new Date(START + POINTS * series.ms).toISOString();
    const path = `/status-counts/series?start_time=${start}&end_time=${end}&step=${series.step}`;
    log(`node ${values['node-options']} ${values.bundle}; GET ${path}`);
    process.stdout.write('| requests at once | RSS after one | peak RSS after the burst | answers |\n|---|---|---|---|\n');
    for (const burst of bursts) {
      const port = await freePort();
      const api = runApp({
        appDir: join(root, 'apps', 'api'),
        bundle: resolve(root, values.bundle),
        env: {
          ENV_FILE: '/dev/null',
          MONGODB_URI: withDatabase(urls.mongodbUri, DATABASE),
          API_PORT: String(port),
          API_REQUEST_TIMEOUT_MS: '60000',
          ...(values['node-options'] ? { NODE_OPTIONS: values['node-options'] } : {}),
        },
      });
      let exited = false;
      void api.exited.then(() => (exited = true));
      const client = createHttpClient({ baseUrl: `http://127.0.0.1:${port}`, maxSockets: burst });
      try {
        await api.waitForLog('listening');
        const pid = api.pid ?? 0;
        // One request first, so that the figure is the burst's, not the first request's set-up.
        await client.send('GET', path);
        const idle = readPeakRssMb(pid);
        const statuses = await Promise.all(
          Array.from({ length: burst }, () => client.send('GET', path).then((r) => r.status, () => 0)),
        );
        const tally = new Map<number, number>();
        for (const status of statuses) tally.set(status, (tally.get(status) ?? 0) + 1);
        const counts = [...tally].map(([status, n]) => `${n} × ${status || 'failed'}`);
        const peak = exited ? 'n/a (the API exited)' : `${readPeakRssMb(pid).toFixed(0)} MiB`;
        process.stdout.write(`| ${burst} | ${idle.toFixed(0)} MiB | ${peak} | ${counts.join(', ')} |\n`);
      } finally {
        client.close();
        await stopApp(api);
      }
    }
  } finally {
    await mongo.close();
  }
}

await main();
