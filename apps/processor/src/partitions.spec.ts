import { ConfigError, parseVariables } from '@tally/config';
import { MAX_PARTITIONS } from '@tally/messaging';
import { describe, expect, it } from 'vitest';

describe('TALLY_PARTITIONS', () => {
  it('goes as far as the processor looks for partitions left over, and no further', () => {
    expect(parseVariables(['TALLY_PARTITIONS'], { TALLY_PARTITIONS: String(MAX_PARTITIONS) })).toEqual({ TALLY_PARTITIONS: MAX_PARTITIONS });
    expect(() => parseVariables(['TALLY_PARTITIONS'], { TALLY_PARTITIONS: String(MAX_PARTITIONS + 1) })).toThrow(ConfigError);
  });
});
