import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { problemsOf } from '@tally/config/testing';
import { BROADCASTER_USAGE, loadBroadcasterConfig } from './config';

const cwd = mkdtempSync(join(tmpdir(), 'tally-broadcaster-'));
writeFileSync(join(cwd, 'nx.json'), '{}');

const load = (argv: string[], env: Record<string, string> = {}) => loadBroadcasterConfig({ argv, env, cwd });

const problemsOfArgs = (argv: string[], env: Record<string, string> = {}) => problemsOf(() => load(argv, env));

describe('the broadcaster configuration', () => {
  it('has its documented defaults when nothing is set', () => {
    expect(loadBroadcasterConfig({ env: {}, cwd })).toEqual({
      amqpUrls: ['amqp://guest:guest@127.0.0.1:5672'],
      mqttUrls: ['mqtt://guest:guest@127.0.0.1:1883'],
      partitions: 4,
      intervalMs: 1000,
      transport: 'mqtt',
      rate: undefined,
      count: undefined,
      window: 1,
      bufferLimit: 3600,
      stopTimeoutMs: 3000,
      metricsPort: undefined,
      metricsHost: '127.0.0.1',
      logLevel: 'info',
      help: false,
    });
  });

  it('takes how long a stop publishes what it holds', () => {
    expect(load([], { BROADCAST_STOP_TIMEOUT_MS: '60000' })).toMatchObject({ stopTimeoutMs: 60_000 });
    expect(() => load([], { BROADCAST_STOP_TIMEOUT_MS: '-1' })).toThrow(/BROADCAST_STOP_TIMEOUT_MS/);
  });

  it('takes the metrics port, 0 for a free one', () => {
    expect(load([], { BROADCAST_METRICS_PORT: '0', BROADCAST_METRICS_HOST: '0.0.0.0' })).toMatchObject({ metricsPort: 0, metricsHost: '0.0.0.0' });
  });

  it('takes valid values and converts numbers', () => {
    const config = loadBroadcasterConfig({
      env: { BROADCAST_INTERVAL_MS: ' 250 ', BROADCAST_TRANSPORT: 'amqp', AMQP_URL: 'amqps://u:p@rabbit/prod' },
      cwd,
    });
    expect(config).toMatchObject({ intervalMs: 250, transport: 'amqp', amqpUrls: ['amqps://u:p@rabbit/prod'] });
  });

  it('rejects an unknown transport', () => {
    expect(problemsOf(() => loadBroadcasterConfig({ env: { BROADCAST_TRANSPORT: 'smoke-signals' }, cwd }))).toEqual([
      'BROADCAST_TRANSPORT: expected one of mqtt, amqp, got "smoke-signals"',
    ]);
  });
});

describe('broadcaster flags', () => {
  it('override the environment', () => {
    const config = load(['--interval', '250', '--transport', 'amqp', '--buffer', '10'], {
      BROADCAST_INTERVAL_MS: '5000',
      BROADCAST_TRANSPORT: 'mqtt',
    });
    expect(config).toMatchObject({ intervalMs: 250, transport: 'amqp', bufferLimit: 10, window: 1 });
  });

  it('--rate sets the interval and widens the window; --window overrides it', () => {
    expect(load(['--rate', '8000'])).toMatchObject({ rate: 8000, intervalMs: 0.125, window: 1000 });
    expect(load(['--rate', '8000', '--window', '50'])).toMatchObject({ window: 50 });
  });

  it('--devices simulates a fleet; without it there is none', () => {
    expect(load([])).toMatchObject({ devices: undefined, intervalMs: 1000 });
    expect(load(['--devices', '1000'])).toMatchObject({ devices: 1000, intervalMs: 1000, rate: undefined });
    expect(load(['--devices', '50', '--rate', '200'])).toMatchObject({ devices: 50, rate: 200, intervalMs: 5 });
    expect(problemsOfArgs(['--devices', '0'])).toEqual(['--devices: expected an integer from 1 to 1000000, got "0"']);
  });

  it('--count stops after N', () => {
    expect(load(['--count', '12'])).toMatchObject({ count: 12 });
    expect(load(['--count=3'])).toMatchObject({ count: 3 });
  });

  it('names the flag, not the variable, when a flag value is bad', () => {
    expect(problemsOfArgs(['--interval', 'soon', '--count', '0', '--transport', 'smoke-signals'])).toEqual([
      '--interval: expected an integer from 1 to 86400000, got "soon"',
      '--transport: expected one of mqtt, amqp, got "smoke-signals"',
      '--count: expected an integer from 1 to 1000000000, got "0"',
    ]);
  });

  it('still names the variable when the bad value came from the environment', () => {
    expect(problemsOfArgs([], { BROADCAST_INTERVAL_MS: '-5' })).toEqual([
      'BROADCAST_INTERVAL_MS: expected an integer from 1 to 86400000, got "-5"',
    ]);
  });

  it('rejects unknown options and stray arguments', () => {
    expect(problemsOfArgs(['--fast'])[0]).toMatch(/^Unknown option '--fast'.*\(see --help\)$/);
    expect(problemsOfArgs(['now'])[0]).toMatch(/\(see --help\)$/);
  });

  it('--help asks for the usage, which lists every flag with its variable and default', () => {
    expect(load(['--help']).help).toBe(true);
    for (const flag of ['--interval MS', '--transport', '--count N', '--rate R', '--devices N', '--window N', '--buffer N', '--help']) {
      expect(BROADCASTER_USAGE).toContain(flag);
    }
    expect(BROADCASTER_USAGE).toContain('[BROADCAST_INTERVAL_MS, default 1000]');
  });
});
