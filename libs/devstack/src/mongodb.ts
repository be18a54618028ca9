import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { ManagedProcess, onPath } from './child';
import { findDocumentDb, psql, startDocumentDb, type DocumentDbEngine } from './documentdb';
import { DevstackError } from './errors';
import { freePort, waitUntil } from './net';
import type { Service } from './services';

/** A MongoDB-wire server that can be started here: `mongod`, or FerretDB v2 on PostgreSQL + DocumentDB. */
export type MongoServerBinary = { kind: 'mongod'; path: string } | ({ kind: 'ferretdb' } & DocumentDbEngine);

/** `mongod` if installed, else FerretDB v2 + DocumentDB (`tools/install-documentdb.sh`). */
export function findMongoServer(): MongoServerBinary | undefined {
  const mongod = onPath('mongod');
  if (mongod) return { kind: 'mongod', path: mongod };
  const engine = findDocumentDb();
  return engine ? { kind: 'ferretdb', ...engine } : undefined;
}

/** What `findMongoServer` finds, else an error that names what to install. */
export function requireMongoServer(): MongoServerBinary {
  const server = findMongoServer();
  if (!server) throw new DevstackError('not_installed', MONGO_SERVER_MISSING);
  return server;
}

export const MONGO_SERVER_MISSING =
  'A MongoDB-wire server: mongod (MongoDB 7+), or FerretDB v2 on PostgreSQL with DocumentDB ' +
  '(Debian/Ubuntu: `npm run setup` installs it)';

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
  /** Private directory for data and logs. */
  dir: string;
  /** Port to listen on, e.g. that of an earlier start to restart in place; a free one by default. */
  port?: number;
  /** @default 60_000 */
  startTimeoutMs?: number;
  /**
   * FerretDB + DocumentDB only: `documentdb.defaultUseCompositeOpClass` (see `DocumentDbOptions`).
   * @default true
   */
  compositeIndexes?: boolean;
}

export interface LocalMongo extends Service {
  port: number;
  /** FerretDB's PostgreSQL, to disturb beneath it (undefined for `mongod`). */
  postgres: LocalPostgres | undefined;
  /** Freezes every process of the server (SIGSTOP): it hangs with its connections open. */
  pause(): void;
  resume(): void;
}

export interface LocalPostgres {
  port: number;
  /** The postmaster's pid. */
  pid: number;
  /** Runs `sql` as `postgres`; its rows, unaligned, one a line. */
  query(sql: string): Promise<string>;
}

/** Starts `mongod`, or FerretDB v2 over a private PostgreSQL cluster, on a free port. */
export async function startLocalMongo(options: LocalMongoOptions): Promise<LocalMongo> {
  const { binary, dir, startTimeoutMs = 60_000 } = options;
  mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await freePort(27017));
  const { processes, postgres } = await startServer(options, port);
  const stop = async () => {
    for (const process of processes) await process.stop();
  };
  const uri = `mongodb://127.0.0.1:${port}/tally`;
  try {
    await waitUntil(`${binary.kind} on port ${port}`, () => pingMongo(uri, 500), {
      timeoutMs: startTimeoutMs,
      abort: () => {
        const exited = processes.find((process) => !process.running);
        return exited ? new Error(`${exited.options.command} exited; see ${exited.options.logFile}`) : undefined;
      },
    });
  } catch (cause) {
    await stop();
    throw new DevstackError('start_failed', `${binary.kind} did not start: ${(cause as Error).message}`, { cause });
  }
  return {
    name: 'mongodb',
    source: binary.kind,
    processes,
    port,
    postgres,
    urls: { mongodbUri: uri },
    stop,
    pause: () => processes.forEach((process) => process.pause()),
    resume: () => processes.forEach((process) => process.resume()),
  };
}

/** The server's processes, the one clients connect to first (and stopped first). */
async function startServer(
  options: LocalMongoOptions,
  port: number,
): Promise<{ processes: ManagedProcess[]; postgres?: LocalPostgres }> {
  const { binary, dir, startTimeoutMs: timeoutMs = 60_000, compositeIndexes } = options;
  if (binary.kind === 'ferretdb') {
    try {
      const { ferretdb, postgres, postgresPort } = await startDocumentDb({ engine: binary, dir, port, timeoutMs, compositeIndexes });
      const query = (sql: string) => psql(binary, postgresPort, sql, timeoutMs);
      return { processes: [ferretdb, postgres], postgres: { port: postgresPort, pid: postgres.pid, query } };
    } catch (cause) {
      throw new DevstackError('start_failed', `PostgreSQL with DocumentDB did not start: ${(cause as Error).message}`, {
        cause,
      });
    }
  }
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const args = ['--dbpath', dataDir, '--bind_ip', '127.0.0.1', '--port', String(port)];
  return { processes: [new ManagedProcess({ command: binary.path, args, logFile: join(dir, 'server.log') })] };
}
