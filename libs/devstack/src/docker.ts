import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DevstackError } from './errors';
import type { Service, ServiceName } from './services';

/** True when a Docker engine answers (the client alone is not enough). */
export function dockerEngineAnswers(): boolean {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 5000 });
  return info.status === 0;
}

/**
 * The secrets `docker/compose.yaml` requires (it has no fallbacks), set to the development values
 * the URLs below use: for the local devstack only, whose ports are published on 127.0.0.1 alone.
 */
const DEVELOPMENT_SECRETS = {
  ...process.env,
  RABBITMQ_USER: 'tally',
  RABBITMQ_PASSWORD: 'tally',
  MONGODB_USER: 'tally',
  MONGODB_PASSWORD: 'tally',
  MONGODB_REPLICA_SET_KEY: 'tally-devstack-replica-set-key-for-local-use-only',
  API_TOKEN: 'unused-by-the-devstack',
  GRAFANA_ADMIN_PASSWORD: 'unused-by-the-devstack',
};

/**
 * Starts the named services of `docker/compose.yaml` and waits for their healthchecks. The URLs
 * are those the compose file publishes on localhost with its development defaults.
 */
export function startComposeServices(root: string, names: readonly ServiceName[]): Service[] {
  const compose = ['compose', '-f', join(root, 'docker', 'compose.yaml'), '-p', 'tally-devstack'];
  const up = spawnSync('docker', [...compose, 'up', '--detach', '--wait', ...names], { stdio: 'inherit', env: DEVELOPMENT_SECRETS });
  if (up.status !== 0) throw new DevstackError('start_failed', `docker compose up ${names.join(' ')} failed`);
  // One `docker compose stop` for all of them, however many of the services ask for it.
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= Promise.resolve().then(() => {
      spawnSync('docker', [...compose, 'stop', ...names], { stdio: 'inherit', env: DEVELOPMENT_SECRETS });
    }));
  return names.map((name) => ({
    name,
    source: 'docker',
    processes: [],
    urls:
      name === 'rabbitmq'
        ? {
            amqpUrl: 'amqp://tally:tally@127.0.0.1:5672',
            mqttUrl: 'mqtt://tally:tally@127.0.0.1:1883',
            managementUrl: 'http://tally:tally@127.0.0.1:15672',
          }
        : { mongodbUri: 'mongodb://tally:tally@127.0.0.1:27017/tally?authSource=admin&directConnection=true' },
    stop,
  }));
}
