import { ConfigError } from '../errors';

/** The problems of the ConfigError that `load` throws; fails the test when it throws none. */
export function problemsOf(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
