import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryFiles, repositoryRoot as root } from './test/repository';

/** The Markdown a reader follows: every README.md and docs/*.md. */
const MARKDOWN = [...repositoryFiles(root)]
  .map((path) => relative(root, path))
  .filter((path) => path.endsWith('README.md') || /^docs\/[^/]+\.md$/.test(path))
  .sort();

const FENCE = /^```[^\n]*\n[\s\S]*?^```$/gm;

/** The code a page shows: the lines of its fenced blocks and its inline code spans. */
function codeOf(markdown: string): string[] {
  const blocks = [...markdown.matchAll(FENCE)].flatMap((match) => match[0].split('\n').slice(1, -1));
  const spans = [...markdown.replace(FENCE, '').matchAll(/`([^`\n]+)`/g)].map((match) => match[1] ?? '');
  return [...blocks, ...spans];
}

const TOOLS = new Set(['npm', 'npx', 'nx']);

/** Each `npm`, `npx` or `nx` command in a line of code (not the bare name), as its words (`#` comments and what follows `&&`, `|`, `;` split off). */
function commandsIn(code: string): string[][] {
  return code
    .replace(/(^|\s)#.*$/, '')
    .split(/&&|\|\||[|;]/)
    .map((part) => part.trim().split(/\s+/))
    .flatMap((words) => {
      const start = words.findIndex((word) => TOOLS.has(word));
      return start < 0 || start === words.length - 1 ? [] : [words.slice(start)];
    });
}

type Projects = ReadonlyMap<string, ReadonlySet<string>>;

/** Nx's projects and their targets, read as Nx reads them here (no inferring plugins in nx.json): each package.json's `nx` field and scripts, each project.json. */
function nxProjects(): Projects {
  const projects = new Map<string, ReadonlySet<string>>();
  const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  const dirs = [
    ...workspaces.flatMap((pattern) => readdirSync(join(root, dirname(pattern))).map((name) => join(dirname(pattern), name))),
    ...readdirSync(root),
  ];
  for (const dir of dirs) {
    const read = (file: string) => (existsSync(join(root, dir, file)) ? JSON.parse(readFileSync(join(root, dir, file), 'utf8')) : undefined);
    const project = read('project.json') as { name: string; targets?: object } | undefined;
    if (project) projects.set(project.name, new Set(Object.keys(project.targets ?? {})));
    const pkg = read('package.json') as { nx?: { name?: string; targets?: object }; scripts?: object } | undefined;
    if (pkg?.nx?.name) projects.set(pkg.nx.name, new Set([...Object.keys(pkg.scripts ?? {}), ...Object.keys(pkg.nx.targets ?? {})]));
  }
  return projects;
}

const NX_COMMANDS = new Set(['graph', 'show', 'reset', 'report', 'list']);

/** What is wrong with a command in the docs (a script, project, target or executable that does not exist), or undefined. */
function problemOf(words: readonly string[], scripts: ReadonlySet<string>, projects: Projects, bins: ReadonlySet<string>): string | undefined {
  const [tool, command = '', ...rest] = words;
  const hasTarget = (project: string, target: string) => projects.get(project)?.has(target) === true;
  if (tool === 'npm') {
    if (command === 'ci' || command === 'install') return undefined;
    const script = command === 'run' ? rest[0] : command;
    return script !== undefined && scripts.has(script) ? undefined : `no script "${script}" in package.json`;
  }
  if (tool === 'npx' && command !== 'nx') return bins.has(command) ? undefined : `no executable "${command}" in node_modules/.bin`;
  const args = tool === 'npx' ? rest : [command, ...rest];
  const [nx = '', ...options] = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  if (NX_COMMANDS.has(nx)) return undefined;
  if (nx === 'run') {
    const [project = '', target = ''] = (options[0] ?? '').split(':');
    return hasTarget(project, target) ? undefined : `no target "${target}" of project "${project}"`;
  }
  if (nx === 'run-many' || nx === 'affected') {
    const flag = options.findIndex((option) => /^(-t|--targets?)(=|$)/.test(option));
    if (flag < 0) return 'no targets (-t)';
    const inline = options[flag]?.split('=')[1];
    const after = options.slice(flag + 1);
    const end = after.findIndex((option) => option.startsWith('-'));
    const targets = (inline ?? (end < 0 ? after : after.slice(0, end)).join(',')).split(',').filter(Boolean);
    const missing = targets.filter((target) => ![...projects.keys()].some((project) => hasTarget(project, target)));
    return targets.length > 0 && missing.length === 0 ? undefined : `no project has the target(s) ${missing.join(', ') || '(none named)'}`;
  }
  const project = options[0] ?? '';
  return hasTarget(project, nx) ? undefined : `no target "${nx}" of project "${project}"`;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page's headings (outside code), a repeated one numbered as GitHub does. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const match of markdown.replace(FENCE, '').matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const anchor = anchorOf(match[1] ?? '');
    let unique = anchor;
    for (let n = 1; anchors.has(unique); n += 1) unique = `${anchor}-${n}`;
    anchors.add(unique);
  }
  return anchors;
}

/** The relative links of a page (outside code): what is wrong with each, if anything. */
function brokenLinks(page: string): string[] {
  const markdown = readFileSync(join(root, page), 'utf8');
  const prose = markdown.replace(FENCE, '').replace(/`[^`\n]+`/g, '');
  const problems: string[] = [];
  for (const match of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    const link = match[1] ?? '';
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue;
    const [path = '', anchor] = link.split('#');
    const target = path === '' ? page : join(dirname(page), path);
    if (!existsSync(join(root, target))) problems.push(`${page}: ${link} (no file ${target})`);
    else if (anchor !== undefined && target.endsWith('.md') && !anchorsOf(readFileSync(join(root, target), 'utf8')).has(anchor))
      problems.push(`${page}: ${link} (no heading #${anchor} in ${target})`);
  }
  return problems;
}

describe('the README and docs', () => {
  it('name only scripts, Nx projects and targets, and executables that exist', () => {
    const scripts = new Set(Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: object }).scripts));
    const nxJson = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as { plugins?: unknown };
    expect(nxJson.plugins, 'nx.json now infers targets: read them with `nx show projects` instead').toBeUndefined();
    const projects = nxProjects();
    const bins = new Set(readdirSync(join(root, 'node_modules', '.bin')));
    const commands = MARKDOWN.flatMap((page) =>
      codeOf(readFileSync(join(root, page), 'utf8')).flatMap((code) => commandsIn(code).map((words) => ({ page, words }))),
    );
    expect(commands.filter(({ page }) => page === 'README.md').length).toBeGreaterThan(5);
    const problems = commands.flatMap(({ page, words }) => {
      const problem = problemOf(words, scripts, projects, bins);
      return problem ? [`${page}: ${words.join(' ')}: ${problem}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it('link only to files and headings that exist', () => {
    expect(MARKDOWN).toEqual(expect.arrayContaining(['README.md', 'docs/design.md', 'bench/README.md']));
    expect(MARKDOWN.flatMap(brokenLinks)).toEqual([]);
  });

  it('are checked by rules that catch what they should', () => {
    const projects: Projects = new Map([['api', new Set(['build', 'test'])]]);
    const problems = (line: string) => commandsIn(line).map((words) => problemOf(words, new Set(['start', 'bench']), projects, new Set(['tsx'])));
    expect(problems('npm ci && npm start   # the pipeline')).toEqual([undefined, undefined]);
    expect(problems('npm')).toEqual([]);
    expect(problems('npm run bench -- --quick; npm run lint')).toEqual([undefined, 'no script "lint" in package.json']);
    expect(problems('API_PORT=1 npx nx build api -- --x | grep y')).toEqual([undefined]);
    expect(problems('npx nx serve api')).toEqual(['no target "serve" of project "api"']);
    expect(problems('nx run api:test')).toEqual([undefined]);
    expect(problems('npx nx run-many -t build test --parallel=1')).toEqual([undefined]);
    expect(problems('npx nx affected -t lint')).toEqual(['no project has the target(s) lint']);
    expect(problems('npx devstack status')).toEqual(['no executable "devstack" in node_modules/.bin']);
    expect(anchorOf('`/devices` and top devices')).toBe('devices-and-top-devices');
    expect(anchorOf('What moved the numbers (2026-11-29)')).toBe('what-moved-the-numbers-2026-11-29');
    expect(anchorOf('Deployment: containers (compose) or Kubernetes')).toBe('deployment-containers-compose-or-kubernetes');
  });
});
