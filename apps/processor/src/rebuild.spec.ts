import { describe, expect, it } from 'vitest';
import { parseRebuildArgs } from './rebuild';

describe('parseRebuildArgs', () => {
  it('consumes as usual without --rebuild-rollups', () => {
    expect(parseRebuildArgs([])).toBeUndefined();
  });

  it('reads the range to rebuild', () => {
    expect(parseRebuildArgs(['--rebuild-rollups'])).toEqual({ from: undefined, to: undefined });
    expect(parseRebuildArgs(['--rebuild-rollups', '--from', '2026-01-01', '--to=2026-02-01T00:00:00Z'])).toEqual({
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-02-01T00:00:00Z'),
    });
  });

  it.each([
    [['--from', '2026-01-01'], '--from and --to go with --rebuild-rollups'],
    [['--rebuild-rollups', '--from', 'yesterday'], '--from: expected an ISO-8601 time, got "yesterday"'],
    [['--rebuild-rollups', '--from', '2026-02-01', '--to', '2026-01-01'], '--from must be before --to'],
    [['--rebuild'], "Unknown option '--rebuild'"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseRebuildArgs(argv)).toThrow(message);
  });
});
