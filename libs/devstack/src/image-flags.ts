import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The node flags of the CMD of stage `stage` of `docker/Dockerfile` under `root` (`["node",
 * <flags>, "main.js"]`): what an app's image runs it with, for the tests and benchmarks that run
 * its bundle as deployed.
 */
export function imageNodeFlags(root: string, stage: string): string[] {
  const dockerfile = readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8');
  const part = dockerfile.split(/^FROM /m).find((section) => (section.split('\n')[0] ?? '').trim().endsWith(` AS ${stage}`));
  const cmd = /^CMD (\[.*\])$/m.exec(part ?? '')?.[1];
  if (!cmd) throw new Error(`No CMD in the ${stage} stage of docker/Dockerfile`);
  const args = JSON.parse(cmd) as string[];
  const main = args.indexOf('main.js');
  if (args[0] !== 'node' || main < 0) throw new Error(`The ${stage} stage of docker/Dockerfile does not run node main.js: ${cmd}`);
  return args.slice(1, main);
}
