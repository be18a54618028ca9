import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError } from './errors';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface ReadEnvironmentOptions {
  /**
   * The process environment.
   * @default process.env
   */
  env?: Environment;
  /**
   * Directory where the search for `.env` starts; it goes up to the Nx workspace root.
   * @default process.cwd()
   */
  cwd?: string;
}

/**
 * The process environment over the values of a `.env` file: a variable set in the environment
 * wins. The file is `ENV_FILE` when set (and must exist), else the first `.env` found from `cwd`
 * up to the workspace root (the directory holding `nx.json`). No file is fine.
 */
export function readEnvironment(options: ReadEnvironmentOptions = {}): Environment {
  const env = options.env ?? process.env;
  const file = env['ENV_FILE'] ? resolve(env['ENV_FILE']) : findDotEnv(options.cwd ?? process.cwd());
  if (file === undefined) return env;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError([`ENV_FILE: cannot read "${file}"`], { cause });
  }
  return { ...parseEnv(text), ...definedOnly(env) };
}

function findDotEnv(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const candidate = join(dir, '.env');
    if (existsSync(candidate)) return candidate;
    if (existsSync(join(dir, 'nx.json')) || dirname(dir) === dir) return undefined;
  }
}

function definedOnly(env: Environment): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
