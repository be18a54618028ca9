/**
 * The per-process figures behind docs/capacity.md, measured on the devstack with the built apps:
 * RabbitMQ's CPU per message in (publisher confirms, through the hash exchange into the quorum
 * partitions) and out (delivery and ack), the
 * processor's CPU per reading, and the database's (FerretDB + PostgreSQL) CPU per stored reading.
 * CPU is read from /proc (user + system of each server's process tree), so other work on the
 * machine does not count, only the wall-clock rates suffer from it.
 *
 *   npx nx run-many -t build -p broadcaster processor
 *   npx nx run devstack:serve &            # or any running devstack
 *   npx tsx tools/measure-capacity.mts [READINGS]     # default 100000
 *   TALLY_PARTITIONS=16 npx tsx tools/measure-capacity.mts   # the partitions (default: the apps' default)
 *
 * The readings come from 1,000 devices in turn, each on its own topic, so that they spread over the partitions.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VARIABLES } from '@tally/config';
import { createTestVhost, devstackDir, findWorkspaceRoot, readState, runApp, waitForDevstack } from '@tally/devstack';
import { MongoClient } from 'mongodb';
import { Connection } from 'rabbitmq-client';

const readings = Number(process.argv[2] ?? 100_000);
const partitions = Number(process.env['TALLY_PARTITIONS'] || VARIABLES.TALLY_PARTITIONS.default);
const root = findWorkspaceRoot(import.meta.dirname);
const TICKS = 100; // USER_HZ

/** user + system seconds of `pid` and every process below it (and of its reaped children). */
function treeCpuSeconds(pids: readonly number[]): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] is the state (field 3): ppid is field 4, utime..cstime fields 14..17.
      const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks });
    } catch {
      // The process ended meanwhile.
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, depth = 0; p > 1 && depth < 20; p = stats.get(p)?.ppid ?? 0, depth++) if (pids.includes(p)) return true;
    return false;
  };
  let ticks = 0;
  for (const [pid, { ticks: t }] of stats) if (inTree(pid)) ticks += t;
  return ticks / TICKS;
}

async function main(): Promise<void> {
  const urls = await waitForDevstack();
  const state = readState(devstackDir(root));
  const pidsOf = (name: string) => state?.services?.find((service) => service.name === name)?.pids ?? [];
  const broker = pidsOf('rabbitmq');
  const database = pidsOf('mongodb');
  if (broker.length === 0 || database.length === 0) {
    throw new Error('The devstack runs no local RabbitMQ or MongoDB-wire server of its own to measure');
  }
  const vhost = await createTestVhost(urls, 'capacity');
  const dbName = `capacity_${randomUUID().slice(0, 8)}`;
  const mongodbUri = urls.mongodbUri.replace(/\/tally$/, `/${dbName}`);
  const mongo = new MongoClient(mongodbUri);
  const env = { AMQP_URL: vhost.amqpUrl, MONGODB_URI: mongodbUri, LOG_LEVEL: 'warn', TALLY_PARTITIONS: String(partitions) };
  try {
    // 1. In: the broadcaster publishes every reading over AMQP (confirms, 1,000 in flight).
    let brokerCpu = treeCpuSeconds(broker);
    let started = performance.now();
    const broadcaster = runApp({
      appDir: root,
      bundle: join(root, 'dist/apps/broadcaster/main.js'),
      env: { ...env, LOG_LEVEL: 'info' },
      args: ['--transport', 'amqp', '--rate', '50000', '--devices', '1000', '--count', String(readings), '--buffer', String(readings)],
    });
    console.error(`publishing ${readings} readings over AMQP...`);
    const broadcasterExit = await broadcaster.exited;
    const summary = broadcaster.lines.find((line) => line.msg === 'summary');
    if (broadcasterExit !== 0 || summary?.['published'] !== readings) {
      throw new Error(`The broadcaster exited with ${broadcasterExit} and ${JSON.stringify(summary)}`);
    }
    const publishSeconds = (performance.now() - started) / 1000;
    const brokerInCpu = treeCpuSeconds(broker) - brokerCpu;

    // 2. Out: one processor drains the queue into the database.
    brokerCpu = treeCpuSeconds(broker);
    const databaseCpu = treeCpuSeconds(database);
    started = performance.now();
    console.error('draining them with one processor...');
    const processor = runApp({ appDir: root, bundle: join(root, 'dist/apps/processor/main.js'), env });
    let exited = false;
    void processor.exited.then(() => (exited = true));
    // Until the queue is empty (a passive declare costs the broker next to nothing), then until
    // the last batch is stored: counting the collection all along would load the database.
    const amqp = new Connection({ url: vhost.amqpUrl });
    try {
      for (let ready = readings; ready > 0; ) {
        if (exited) throw new Error('The processor exited');
        await sleep(200);
        ready = 0;
        for (let i = 0; i < partitions; i++) ready += (await amqp.queueDeclare({ queue: `tally.status.${i}`, passive: true })).messageCount;
        if (process.env['DEBUG_CAPACITY']) console.error(ready, processor.lines.slice(-2));
      }
    } finally {
      await amqp.close();
    }
    const events = mongo.db().collection('status_events');
    for (let stored = 0; stored < readings; stored = await events.countDocuments({})) {
      if (process.env['DEBUG_CAPACITY']) console.error('stored', stored);
      if (exited) throw new Error('The processor exited');
      await sleep(100);
    }
    const drainSeconds = (performance.now() - started) / 1000;
    const processorCpu = treeCpuSeconds([processor.pid as number]);
    const brokerOutCpu = treeCpuSeconds(broker) - brokerCpu;
    const storeCpu = treeCpuSeconds(database) - databaseCpu;
    processor.kill('SIGTERM');
    await processor.exited;

    const us = (seconds: number) => Math.round((seconds / readings) * 1e6 * 10) / 10;
    const result = {
      readings,
      partitions,
      publish: { seconds: round(publishSeconds), perSecond: Math.round(readings / publishSeconds), brokerCpuSeconds: round(brokerInCpu), brokerUsPerMessage: us(brokerInCpu) },
      drain: {
        seconds: round(drainSeconds),
        perSecond: Math.round(readings / drainSeconds),
        brokerCpuSeconds: round(brokerOutCpu),
        brokerUsPerMessage: us(brokerOutCpu),
        processorCpuSeconds: round(processorCpu),
        processorUsPerReading: us(processorCpu),
        databaseCpuSeconds: round(storeCpu),
        databaseUsPerReading: us(storeCpu),
      },
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(
      [
        `| figure | measured |`,
        `|---|---:|`,
        `| broker CPU per message in (AMQP publish + confirm, ${partitions} quorum partitions) | ${result.publish.brokerUsPerMessage} µs |`,
        `| broker CPU per message out (deliver + ack) | ${result.drain.brokerUsPerMessage} µs |`,
        `| processor CPU per reading | ${result.drain.processorUsPerReading} µs |`,
        `| database CPU per stored reading (FerretDB + PostgreSQL/DocumentDB) | ${result.drain.databaseUsPerReading} µs |`,
        `| publish rate / drain rate (wall clock, shared machine) | ${result.publish.perSecond} / ${result.drain.perSecond} readings/s |`,
      ].join('\n'),
    );
  } finally {
    await mongo.db().dropDatabase().catch(() => undefined);
    await mongo.close();
    await vhost.dispose().catch(() => undefined);
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
