import { findWorkspaceRoot, imageNodeFlags } from '@tally/devstack';
import { describe, expect, it } from 'vitest';
import { API_IMAGE_NODE_OPTIONS, FULL_SIZES, parseBenchArgs, PROCESSOR_IMAGE_NODE_OPTIONS, QUICK_SIZES, UsageError } from './options';

const imageFlags = (stage: string) => imageNodeFlags(findWorkspaceRoot(import.meta.dirname), stage).join(' ');

describe('PROCESSOR_IMAGE_NODE_OPTIONS and API_IMAGE_NODE_OPTIONS', () => {
  it('are the V8 flags of the processor and API images, so that the bench measures them as deployed', () => {
    expect(imageFlags('processor')).toBe(PROCESSOR_IMAGE_NODE_OPTIONS);
    expect(imageFlags('api')).toBe(API_IMAGE_NODE_OPTIONS);
  });
});

describe('parseBenchArgs', () => {
  it('runs every phase at full size by default, the processor as in its image', () => {
    expect(parseBenchArgs([])).toEqual({
      ...FULL_SIZES,
      quick: false,
      phases: ['ingest', 'partitions', 'query', 'zones', 'retention', 'engine', 'live'],
      reseed: false,
      outDir: undefined,
      processorNodeOptions: PROCESSOR_IMAGE_NODE_OPTIONS,
      help: false,
    });
  });

  it('takes the quick sizes with --quick, and explicit sizes over them', () => {
    expect(parseBenchArgs(['--quick'])).toMatchObject({ ...QUICK_SIZES, quick: true });
    expect(parseBenchArgs(['--quick', '--readings', '7000', '--samples=2', '--api-samples', '9'])).toMatchObject({
      ...QUICK_SIZES,
      readings: 7000,
      samples: 2,
      apiSamples: 9,
    });
    expect(parseBenchArgs(['--query-readings', '1_000_000', '--naive', '10', '--healthz-seconds', '1', '--devices', '20'])).toMatchObject({
      queryReadings: [1_000_000],
      devices: 20,
      naiveReadings: 10,
      healthzSeconds: 1,
    });
  });

  it('runs one phase with --only, and V8 defaults with an empty --processor-node-options', () => {
    expect(parseBenchArgs(['--only', 'query']).phases).toEqual(['query']);
    expect(parseBenchArgs(['--only', 'live', '--live-clients', '20']).phases).toEqual(['live']);
    expect(parseBenchArgs(['--only', 'zones', '--zones-readings', '5000'])).toMatchObject({ phases: ['zones'], zonesReadings: 5000 });
    expect(parseBenchArgs(['--only', 'retention', '--retention-readings', '9', '--retention-drain', '0'])).toMatchObject({
      phases: ['retention'],
      retentionReadings: 9,
      retentionDrain: 0,
    });
    expect(() => parseBenchArgs(['--retention-drain', 'none'])).toThrow(/--retention-drain: expected a positive integer/);
    expect(parseBenchArgs(['--only', 'engine', '--engine-readings', '5000'])).toMatchObject({
      phases: ['engine'],
      engineReadings: 5000,
    });
    expect(parseBenchArgs(['--processor-node-options', '']).processorNodeOptions).toBe('');
  });

  it.each([
    [['--readings', '0'], '--readings: expected a positive integer, got "0"'],
    [['--query-readings', '1000,x'], '--query-readings: expected a positive integer, got "x"'],
    [['--samples', '2.5'], '--samples: expected a positive integer, got "2.5"'],
    [['--naive', 'many'], '--naive: expected a positive integer, got "many"'],
    [['--only', 'api'], '--only: expected one of ingest, partitions, query, zones, retention, engine, live, got "api"'],
    [['--fast'], "Unknown option '--fast'"],
    [['extra'], 'Unexpected argument'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(UsageError);
    expect(() => parseBenchArgs(argv)).toThrow(message);
  });
});
