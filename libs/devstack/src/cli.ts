import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDevstack, type Devstack } from './devstack';
import { DevstackError } from './errors';
import {
  claimState,
  devstackDir,
  findWorkspaceRoot,
  isAlive,
  isDevstackProcess,
  readState,
  removeState,
  waitForDevstack,
  writeState,
} from './state';

const USAGE = `Usage: devstack <command>

  up                 Provide RabbitMQ and a MongoDB-wire server for this workspace until
                     SIGINT/SIGTERM (or until the parent process dies), then stop them.
  exec -- CMD ARGS   Wait for the running devstack, then run CMD with AMQP_URL, MQTT_URL and
                     MONGODB_URI pointing at it.
  status             Print the running devstack's state as JSON.

The services come from, in order: AMQP_URL + MQTT_URL / MONGODB_URI when they answer, a Docker
engine (docker/compose.yaml), local binaries (rabbitmq-server; mongod, else ferretdb).
Data, logs and state live in tmp/devstack/ under the workspace root.`;

const log = (line: string) => process.stderr.write(`[devstack] ${line}\n`);

async function up(): Promise<number> {
  const root = findWorkspaceRoot();
  const dir = devstackDir(root);
  while (!claimState(dir)) {
    const state = readState(dir);
    if (state && isDevstackProcess(state.pid) && state.pid !== process.pid) {
      log(`a devstack is already running for this workspace (pid ${state.pid}); using it`);
      return waitForEnd(() => !isAlive(state.pid));
    }
    for (const service of state?.services ?? []) {
      for (const pid of (service.pids ?? []).filter(isAlive)) {
        log(`stopping ${service.name} (pid ${pid}) left by a devstack that died`);
        killGroup(pid);
      }
    }
    removeState(dir);
  }

  let stack: Devstack | undefined;
  let stopping = false;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping`);
    await stack?.stop();
    removeState(dir);
    log('stopped');
  };
  const ended = watchForEnd(shutdown);

  const startedAt = Date.now();
  try {
    stack = await startDevstack({
      root,
      dir,
      given: { amqpUrl: process.env['AMQP_URL'], mqttUrl: process.env['MQTT_URL'], mongodbUri: process.env['MONGODB_URI'] },
      docker: process.env['DEVSTACK_DOCKER'] !== 'false',
      log,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    writeState(dir, { status: 'failed', error: message });
    log(message);
    return 1;
  }
  if (stopping) {
    await stack.stop();
    return 0;
  }
  writeState(dir, {
    status: 'ready',
    urls: stack.urls,
    services: stack.services.map((s) => ({ name: s.name, source: s.source, pids: s.processes.map((p) => p.pid) })),
  });
  const { amqpUrl, mqttUrl, mongodbUri, managementUrl } = stack.urls;
  log(`ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  log(`  AMQP_URL=${amqpUrl}`);
  log(`  MQTT_URL=${mqttUrl}`);
  log(`  MONGODB_URI=${mongodbUri}`);
  if (managementUrl) log(`  management: ${managementUrl.replace(/\/\/[^@]*@/, '//')}`);
  for (const service of stack.services) {
    for (const child of service.processes) {
      void child.exited.then(() => {
        if (!stopping) void shutdown(`${service.name} exited (see its log in tmp/devstack)`).then(() => process.exit(1));
      });
    }
  }
  await ended;
  return 0;
}

/** Resolves after SIGINT, SIGTERM, or the death of the parent process, once `onEnd` is done. */
function watchForEnd(onEnd: (why: string) => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const parent = process.ppid;
    const end = (why: string) => void onEnd(why).then(resolve);
    process.once('SIGINT', () => end('SIGINT'));
    process.once('SIGTERM', () => end('SIGTERM'));
    process.once('SIGHUP', () => end('SIGHUP'));
    setInterval(() => {
      if (process.ppid !== parent) end('parent process exited');
    }, 1000).unref();
  });
}

async function waitForEnd(done: () => boolean): Promise<number> {
  let signalled = false;
  const stop = () => (signalled = true);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const parent = process.ppid;
  while (!signalled && !done() && process.ppid === parent) await sleep(500);
  return 0;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

async function exec(command: readonly string[]): Promise<number> {
  const [file, ...args] = command;
  if (!file) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const urls = await waitForDevstack();
  const child = spawn(file, args, {
    stdio: 'inherit',
    env: { ...process.env, AMQP_URL: urls.amqpUrl, MQTT_URL: urls.mqttUrl, MONGODB_URI: urls.mongodbUri },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => child.kill(signal));
  }
  return new Promise((resolve) => {
    child.once('error', (error) => {
      log(`cannot run ${file}: ${error.message}`);
      resolve(127);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)));
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal as string] ?? 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      return up();
    case 'exec':
      return exec(rest[0] === '--' ? rest.slice(1) : rest);
    case 'status': {
      const state = readState(devstackDir(findWorkspaceRoot()));
      process.stdout.write(`${JSON.stringify(state ?? { status: 'not running' }, null, 2)}\n`);
      return state && isDevstackProcess(state.pid) ? 0 : 1;
    }
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof DevstackError ? error.message : String((error as Error)?.stack ?? error));
    process.exit(1);
  },
);
