import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { ManagedProcess, onPath } from './child';
import { DevstackError } from './errors';
import { freePort, waitUntil } from './net';
import type { Service } from './services';

export type MongoServerKind = 'mongod' | 'ferretdb';

export interface MongoServerBinary {
  kind: MongoServerKind;
  path: string;
}

/** `mongod` if installed, else `ferretdb` (on PATH or where `go install` puts it). */
export function findMongoServer(): MongoServerBinary | undefined {
  const mongod = onPath('mongod');
  if (mongod) return { kind: 'mongod', path: mongod };
  const ferretdb = onPath('ferretdb');
  if (ferretdb) return { kind: 'ferretdb', path: ferretdb };
  const goBin = join(process.env['GOPATH'] ?? join(homedir(), 'go'), 'bin', 'ferretdb');
  return existsSync(goBin) ? { kind: 'ferretdb', path: goBin } : undefined;
}

/** True when a MongoDB-wire server answers a ping at `uri`. */
export async function pingMongo(uri: string, timeoutMs = 2000): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.db('admin').command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await client.close();
  }
}

export interface LocalMongoOptions {
  binary: MongoServerBinary;
  /** Private data directory. */
  dir: string;
  /** Port to listen on, e.g. that of an earlier start to restart in place; a free one by default. */
  port?: number;
  /** @default 60_000 */
  startTimeoutMs?: number;
}

export interface LocalMongo extends Service {
  port: number;
}

/** Starts `mongod` or FerretDB (SQLite backend, telemetry off) on a free port. */
export async function startLocalMongo(options: LocalMongoOptions): Promise<LocalMongo> {
  const { binary, dir, startTimeoutMs = 60_000 } = options;
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const port = options.port ?? (await freePort(27017));
  const args =
    binary.kind === 'mongod'
      ? ['--dbpath', dataDir, '--bind_ip', '127.0.0.1', '--port', String(port)]
      : [
          '--handler=sqlite',
          `--sqlite-url=file:${dataDir}/`,
          `--state-dir=${dir}`,
          `--listen-addr=127.0.0.1:${port}`,
          '--debug-addr=-',
          '--telemetry=disable',
          '--log-level=warn',
        ];
  const process = new ManagedProcess({ command: binary.path, args, logFile: join(dir, 'server.log') });
  const uri = `mongodb://127.0.0.1:${port}/tally`;
  try {
    await waitUntil(`${binary.kind} on port ${port}`, () => pingMongo(uri, 500), {
      timeoutMs: startTimeoutMs,
      abort: () => (process.running ? undefined : new Error(`${binary.kind} exited; see ${join(dir, 'server.log')}`)),
    });
  } catch (cause) {
    await process.stop();
    throw new DevstackError('start_failed', `${binary.kind} did not start: ${(cause as Error).message}`, { cause });
  }
  return { name: 'mongodb', source: binary.kind, process, port, urls: { mongodbUri: uri }, stop: () => process.stop() };
}
