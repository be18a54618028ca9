import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ManagedProcess, onPath } from './child';
import { DevstackError } from './errors';
import { canConnect, freePort, waitUntil } from './net';
import type { Service } from './services';

/**
 * The broker script that runs a node in the foreground with the environment it is given. Debian's
 * `/usr/sbin/rabbitmq-server` is a wrapper that switches to the `rabbitmq` user and its fixed
 * directories, so the one under /usr/lib is preferred.
 */
export function findRabbitMqServer(): string | undefined {
  const candidates = ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/local/sbin/rabbitmq-server'];
  const found = candidates.find((path) => existsSync(path)) ?? onPath('rabbitmq-server');
  return found !== '/usr/sbin/rabbitmq-server' ? found : undefined;
}

export interface LocalRabbitMqOptions {
  server: string;
  /** Private directory for config, data, logs and the Erlang cookie. */
  dir: string;
  /** Erlang node name, unique on this machine, e.g. `tally-1a2b3c@localhost`. */
  nodeName: string;
  /** Ports to listen on, e.g. those of an earlier start to restart in place; free ones by default. */
  ports?: RabbitMqPorts;
  /** @default 120_000 */
  startTimeoutMs?: number;
  /**
   * The Erlang cookie, which every node of a cluster (and the CLI tools reaching them) must share;
   * by default Erlang makes one of its own on first start.
   */
  cookie?: string;
  /**
   * The plugins to enable. Tally's apps need MQTT and the consistent-hash exchange (its partitions);
   * a test of how they fail without one names fewer.
   * @default RABBITMQ_PLUGINS
   */
  plugins?: readonly string[];
}

/** The plugins Tally needs: MQTT for devices, the consistent-hash exchange for its partitions, the management API. */
export const RABBITMQ_PLUGINS: readonly string[] = ['rabbitmq_mqtt', 'rabbitmq_consistent_hash_exchange', 'rabbitmq_management'];

export interface RabbitMqPorts {
  amqp: number;
  mqtt: number;
  management: number;
  distribution: number;
}

export interface LocalRabbitMq extends Service {
  ports: RabbitMqPorts;
}

/** Starts a private RabbitMQ node with Tally's plugins (`RABBITMQ_PLUGINS`), on free ports. */
export async function startLocalRabbitMq(options: LocalRabbitMqOptions): Promise<LocalRabbitMq> {
  const { dir, nodeName } = options;
  for (const sub of ['home', 'mnesia', 'log']) mkdirSync(join(dir, sub), { recursive: true });
  const ports = options.ports ?? {
    amqp: await freePort(5672),
    mqtt: await freePort(1883),
    management: await freePort(15672),
    distribution: await freePort(25672),
  };
  const { amqp: amqpPort, mqtt: mqttPort, management: managementPort, distribution: distPort } = ports;
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [
      `listeners.tcp.default = 127.0.0.1:${amqpPort}`,
      `mqtt.listeners.tcp.default = 127.0.0.1:${mqttPort}`,
      `management.tcp.ip = 127.0.0.1`,
      `management.tcp.port = ${managementPort}`,
      'log.console = false',
      'log.file.level = info',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'enabled_plugins'), `[${(options.plugins ?? RABBITMQ_PLUGINS).join(',')}].\n`);
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  const cookieFile = join(dir, 'home', '.erlang.cookie');
  if (options.cookie !== undefined && !existsSync(cookieFile)) writeFileSync(cookieFile, options.cookie, { mode: 0o400 });

  const env = rabbitMqEnv(dir, nodeName, distPort);
  const process = new ManagedProcess({
    command: options.server,
    args: [],
    env,
    logFile: join(dir, 'log', 'stdout.log'),
  });
  const listeners = [amqpPort, mqttPort, managementPort];
  try {
    await waitUntil(
      `RabbitMQ on ports ${listeners.join(', ')}`,
      async () => (await Promise.all(listeners.map((port) => canConnect('127.0.0.1', port)))).every(Boolean),
      {
        timeoutMs: options.startTimeoutMs ?? 120_000,
        intervalMs: 250,
        abort: () => (process.running ? undefined : new Error('rabbitmq-server exited')),
      },
    );
  } catch (cause) {
    await process.stop();
    throw new DevstackError(
      'start_failed',
      `RabbitMQ did not start: ${(cause as Error).message}\n${tail(join(dir, 'log', 'stdout.log'))}`,
      { cause },
    );
  }
  return {
    name: 'rabbitmq',
    source: 'rabbitmq-server',
    processes: [process],
    ports,
    urls: {
      amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
      mqttUrl: `mqtt://guest:guest@127.0.0.1:${mqttPort}`,
      managementUrl: `http://guest:guest@127.0.0.1:${managementPort}`,
    },
    stop: () => process.stop(),
  };
}

/**
 * Runs `rabbitmqctl` (or another CLI tool beside `server`, e.g. `rabbitmq-queues`) against the
 * private node in `dir`; resolves with its stdout.
 */
export async function rabbitMqCtl(
  node: { server: string; dir: string; nodeName: string },
  args: readonly string[],
  { tool = 'rabbitmqctl', timeoutMs = 60_000 }: { tool?: string; timeoutMs?: number } = {},
): Promise<string> {
  const env = rabbitMqEnv(node.dir, node.nodeName, 0);
  delete env['RABBITMQ_DIST_PORT']; // the server's port: a CLI tool takes one of its own
  const { stdout } = await promisify(execFile)(join(dirname(node.server), tool), ['-q', ...args], { env, timeout: timeoutMs });
  return stdout;
}

function rabbitMqEnv(dir: string, nodeName: string, distPort: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    LANG: 'C.UTF-8',
    HOME: join(dir, 'home'),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    // Run the VM in place of the script (no shell proxy in between): it then is the process we
    // signal, and SIGTERM makes Erlang stop the node gracefully.
    RUNNING_UNDER_SYSTEMD: 'true',
  };
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}
