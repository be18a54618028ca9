import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ManagedProcess, onPath } from './child';
import { freePort, waitUntil } from './net';

const run = promisify(execFile);

/**
 * FerretDB v2 in front of PostgreSQL 15 with the DocumentDB extension: the MongoDB-wire engine
 * used where `mongod` is not installed. `tools/install-documentdb.sh` installs it.
 */
export interface DocumentDbEngine {
  /** The FerretDB v2 binary. */
  ferretdb: string;
  /** PostgreSQL's server binaries: initdb, postgres, pg_isready, psql. */
  postgresBin: string;
}

/** Where `tools/install-documentdb.sh` puts FerretDB unless `TALLY_ENGINE_PREFIX` says otherwise. */
const ENGINE_PREFIX = process.env['TALLY_ENGINE_PREFIX'] ?? '/opt/tally-engine';
const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

/** The engine when FerretDB v2 and PostgreSQL 15 with the DocumentDB extension are installed. */
export function findDocumentDb(): DocumentDbEngine | undefined {
  const candidates = [join(ENGINE_PREFIX, 'bin', 'ferretdb'), onPath('ferretdb')];
  const ferretdb = candidates.find((path) => path !== undefined && existsSync(path) && isFerretDbV2(path));
  if (!ferretdb || !existsSync(join(POSTGRES_BIN, 'postgres'))) return undefined;
  const libdir = spawnSync(join(POSTGRES_BIN, 'pg_config'), ['--pkglibdir'], { encoding: 'utf8' }).stdout?.trim();
  const extension = join(libdir || '/usr/lib/postgresql/15/lib', 'pg_documentdb.so');
  return existsSync(extension) ? { ferretdb, postgresBin: POSTGRES_BIN } : undefined;
}

function isFerretDbV2(path: string): boolean {
  const version = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 5000 });
  return /version: v2\./.test(version.stdout ?? '');
}

/** Given on the command line at each start, so that a cluster made by an older devstack gets them too. */
const SETTINGS = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  // A bulk load otherwise grows the WAL to gigabytes (3.3 GB of data folder for 1M readings).
  max_wal_size: '256MB',
  min_wal_size: '64MB',
  shared_buffers: '256MB',
  // DocumentDB runs its background index builds as pg_cron jobs: background workers need no
  // connection (pg_cron's own would dial localhost, which may not be 127.0.0.1).
  'cron.use_background_workers': 'on',
  // DocumentDB's index-build jobs (below): a log line each run is noise.
  'cron.log_run': 'off',
  // DocumentDB's range operators get a default row estimate (a quarter of the collection), so past
  // ~1M readings every range count crossed jit_above_cost and paid 25-50 ms of JIT compilation for
  // a scan of a few hundred rows: at 10M, a 1-minute count took 39-68 ms with JIT and 11-16 ms
  // without (p50, same run, apps/bench's 10M database).
  jit: 'off',
  // A grouped aggregate ($group: every count) makes a "persistent" cursor, and FerretDB takes the
  // connection of such a cursor out of its pool even when the first page drained it: every count
  // then paid for a new PostgreSQL backend (9-10 ms instead of 1.3 ms p50 for a minute's count at
  // 10M readings). File-based persisted cursors keep the connection in the pool.
  'documentdb.useFileBasedPersistedCursors': 'on',
  // A statement that waits over a second for a lock is logged, with what holds it.
  log_lock_waits: 'on',
  max_worker_processes: '16',
  // The settings of FerretDB's own image (`packaging/10-preload.sh` of its DocumentDB fork).
  shared_preload_libraries: 'pg_cron,pg_documentdb_core,pg_documentdb',
  'cron.database_name': 'postgres',
  'documentdb.enableCompact': 'true',
  'documentdb.enableLetAndCollationForQueryMatch': 'true',
  'documentdb.enableNowSystemVariable': 'true',
  'documentdb.enableSortbyIdPushDownToPrimaryKey': 'true',
  'documentdb.enableSchemaValidation': 'true',
  'documentdb.enableBypassDocumentValidation': 'true',
  'documentdb.enableUserCrud': 'true',
  'documentdb.maxUserLimit': '100',
};

/**
 * DocumentDB's background index builds run as pg_cron jobs every 2 s, and a backend running an
 * aggregation cursor now and then crashes (signal 11 in `aggregate_cursor_first_page`) racing a
 * tick of them: PostgreSQL then restarts every backend, and every test talking to the engine at
 * that moment fails (documentdb/documentdb#635; once in five full test runs here). FerretDB 2.5
 * never queues such a build (its createIndexes calls `create_indexes_non_concurrently`), so the
 * jobs only ever find an empty queue: once a minute (cron's finest step) still serves one, with
 * thirty times fewer ticks to race. Re-run at each start, for clusters made before.
 */
const INDEX_BUILD_JOBS_EVERY_MINUTE =
  "SELECT count(cron.alter_job(jobid, schedule := '* * * * *')) FROM cron.job WHERE command LIKE '%build_index_concurrently%'";

export interface DocumentDbOptions {
  engine: DocumentDbEngine;
  /** Private directory: `postgres/` (the cluster), `ferretdb/` (its state), logs. */
  dir: string;
  /** FerretDB's port. */
  port: number;
  /**
   * Index terms that hold every key of a compound index (`documentdb.defaultUseCompositeOpClass`).
   * Marked experimental upstream; measured here 4× faster inserts and 2× faster range counts with
   * the same results (bench/README.md). Applies to indexes created while it is set.
   * @default true
   */
  compositeIndexes?: boolean;
  /** Bounds each step (PostgreSQL, the extension, FerretDB). */
  timeoutMs: number;
}

export interface DocumentDbProcesses {
  postgres: ManagedProcess;
  ferretdb: ManagedProcess;
  /** PostgreSQL's port, on 127.0.0.1. */
  postgresPort: number;
}

/**
 * Starts PostgreSQL on a private cluster (created on first use, as user `postgres` when we are
 * root: PostgreSQL refuses to run as root), creates the DocumentDB extension, then FerretDB in
 * front of it on `port`. Both listen on 127.0.0.1 only. Rejects, with both stopped, on failure.
 */
export async function startDocumentDb(options: DocumentDbOptions): Promise<DocumentDbProcesses> {
  const { engine, port, timeoutMs } = options;
  const dir = resolve(options.dir);
  const runAs = postgresUser();
  const dataDir = join(dir, 'postgres');
  mkdirSync(join(dir, 'ferretdb'), { recursive: true });
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initCluster(engine, dataDir, runAs);

  const pgPort = await freePort();
  const settings = { ...SETTINGS, 'documentdb.defaultUseCompositeOpClass': String(options.compositeIndexes ?? true) };
  const postgres = new ManagedProcess({
    command: join(engine.postgresBin, 'postgres'),
    args: ['-D', dataDir, '-p', String(pgPort), ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])],
    logFile: join(dir, 'postgres.log'),
    runAs,
    // Fast shutdown: SIGTERM would wait for FerretDB's connections to close.
    stopSignal: 'SIGINT',
  });
  let ferretdb: ManagedProcess | undefined;
  try {
    await waitUntil(`PostgreSQL on port ${pgPort}`, () => postgresAnswers(engine, pgPort), {
      timeoutMs,
      abort: () => (postgres.running ? undefined : new Error(`postgres exited; see ${join(dir, 'postgres.log')}`)),
    });
    await psql(engine, pgPort, 'CREATE EXTENSION IF NOT EXISTS documentdb CASCADE', timeoutMs);
    await psql(engine, pgPort, INDEX_BUILD_JOBS_EVERY_MINUTE, timeoutMs);
    ferretdb = new ManagedProcess({
      command: engine.ferretdb,
      args: [
        `--postgresql-url=postgres://postgres@127.0.0.1:${pgPort}/postgres`,
        `--listen-addr=127.0.0.1:${port}`,
        `--state-dir=${join(dir, 'ferretdb')}`,
        '--no-auth',
        '--telemetry=disable',
        '--debug-addr=-',
        '--log-level=warn',
      ],
      logFile: join(dir, 'ferretdb.log'),
    });
    return { postgres, ferretdb, postgresPort: pgPort };
  } catch (error) {
    await ferretdb?.stop();
    await postgres.stop();
    throw error;
  }
}

async function initCluster(engine: DocumentDbEngine, dataDir: string, runAs: RunAs | undefined): Promise<void> {
  await run(
    join(engine.postgresBin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions'],
    { ...runAs, timeout: 120_000 },
  );
}

/** Runs `sql` as user `postgres` in database `postgres`; resolves with its rows, unaligned, one a line. */
export async function psql(engine: DocumentDbEngine, port: number, sql: string, timeoutMs: number): Promise<string> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1'];
  const { stdout } = await run(join(engine.postgresBin, 'psql'), [...args, '-qAtc', sql], { timeout: timeoutMs });
  return stdout;
}

async function postgresAnswers(engine: DocumentDbEngine, port: number): Promise<boolean> {
  try {
    await run(join(engine.postgresBin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

type RunAs = { uid: number; gid: number };

/** PostgreSQL's own user when we are root, else undefined (run as ourselves). */
function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const [uid, gid] = [id('-u'), id('-g')];
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('PostgreSQL refuses to run as root and there is no user postgres');
  return { uid, gid };
}
