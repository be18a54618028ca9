/** A configuration value is missing, malformed or out of range. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'invalid_config';

  /** One line per bad variable, e.g. `API_PORT: expected an integer from 1 to 65535, got "abc"`. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options?: { cause?: unknown }) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`, options);
    this.problems = problems;
  }
}
