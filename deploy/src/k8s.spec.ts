import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * deploy/k8s, rendered with kustomize and validated with `kubeconform -strict` against the
 * Kubernetes schemas and the vendored KEDA schemas, offline; then what a schema cannot say: probes,
 * resources, and that every Secret, ConfigMap and key a manifest names exists.
 */

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const k8s = join(root, 'deploy/k8s');
const KUBERNETES_VERSIONS = ['1.30.0', '1.37.0'];

function findTools(): string {
  const candidates = [process.env['TALLY_K8S_TOOLS'], '/opt/tally-tools/k8s', join(root, 'tmp/k8s-tools')];
  const found = candidates.find((dir) => dir !== undefined && existsSync(join(dir, 'installed')));
  if (!found) throw new Error('kustomize, kubeconform and the Kubernetes schemas are not installed: run tools/install-k8s-tools.sh');
  return found;
}

const tools = findTools();
const work = mkdtempSync(join(tmpdir(), 'tally-k8s-'));

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- checked field by field below
  data?: Record<string, string>;
}

async function kubeconform(files: string[], kubernetesVersion: string): Promise<{ ok: boolean; output: string }> {
  const args = [
    '-strict',
    '-summary',
    '-kubernetes-version',
    kubernetesVersion,
    '-schema-location',
    `${tools}/schemas/{{ .NormalizedKubernetesVersion }}-local-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
    '-schema-location',
    `${k8s}/schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
    ...files,
  ];
  try {
    const { stdout } = await run(join(tools, 'bin/kubeconform'), args);
    return { ok: true, output: stdout };
  } catch (error) {
    return { ok: false, output: String((error as { stdout?: string }).stdout ?? error) };
  }
}

/** kustomize's output as objects (YAML read by the PyYAML of the tools' venv). */
async function parseYaml(file: string): Promise<K8sObject[]> {
  const script = 'import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))';
  const { stdout } = await run(join(tools, 'venv/bin/python'), ['-c', script, file]);
  return JSON.parse(stdout) as K8sObject[];
}

let rendered: string;
let objects: K8sObject[];

beforeAll(async () => {
  // The example overlay's Secret comes from secrets.env, which is never committed: render a copy
  // with the example file in its place.
  cpSync(k8s, join(work, 'k8s'), { recursive: true });
  cpSync(join(k8s, 'overlays/example/secrets.env.example'), join(work, 'k8s/overlays/example/secrets.env'));
  const { stdout } = await run(join(tools, 'bin/kustomize'), ['build', join(work, 'k8s/overlays/example')]);
  rendered = join(work, 'example.yaml');
  writeFileSync(rendered, stdout);
  objects = await parseYaml(rendered);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const byKind = (kind: string) => objects.filter((object) => object.kind === kind);
const named = (kind: string, name: string) => objects.find((object) => object.kind === kind && object.metadata.name === name);

describe('kubeconform -strict', () => {
  it.each(KUBERNETES_VERSIONS)('passes every object of the rendered example overlay on Kubernetes %s, none skipped', async (version) => {
    const { ok, output } = await kubeconform([rendered], version);
    expect(output).toMatch(new RegExp(`${objects.length} resources found in 1 file - Valid: ${objects.length}, Invalid: 0, Errors: 0, Skipped: 0`));
    expect(ok, output).toBe(true);
  });

  it('passes every manifest file as written', async () => {
    const files = ['base', 'components/broadcaster', 'overlays/example'].flatMap((dir) =>
      readdirSync(join(k8s, dir))
        .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml' && file !== 'kustomizeconfig.yaml')
        .map((file) => join(k8s, dir, file)),
    );
    expect(files.length).toBeGreaterThanOrEqual(6);
    const { ok, output } = await kubeconform(files, KUBERNETES_VERSIONS.at(-1) as string);
    expect(output).toMatch(/Invalid: 0, Errors: 0, Skipped: 0/);
    expect(ok, output).toBe(true);
  });

  it('fails on an unknown field, and on a KEDA trigger value that is not a string', async () => {
    const text = readFileSync(rendered, 'utf8');
    const unknownField = join(work, 'unknown-field.yaml');
    writeFileSync(unknownField, text.replace('        livenessProbe:', '        livenesProbe:'));
    const numericTrigger = join(work, 'numeric-trigger.yaml');
    writeFileSync(numericTrigger, text.replace('value: "10000"', 'value: 10000'));
    expect(text).toContain('value: "10000"');

    const unknown = await kubeconform([unknownField], '1.37.0');
    expect(unknown.ok).toBe(false);
    expect(unknown.output).toMatch(/Deployment tally-\w+ is invalid: .*additional properties 'livenesProbe' not allowed/);
    const numeric = await kubeconform([numericTrigger], '1.37.0');
    expect(numeric.ok).toBe(false);
    expect(numeric.output).toMatch(/ScaledObject tally-processor is invalid/);
  });
});

describe('the rendered example', () => {
  it('has a Deployment per app, the API behind a Service, and the processors scaled by KEDA', () => {
    expect(byKind('Deployment').map((d) => d.metadata.name).sort()).toEqual(['tally-api', 'tally-broadcaster', 'tally-processor']);
    const service = named('Service', 'tally-api');
    const api = named('Deployment', 'tally-api');
    expect(service?.spec.selector).toEqual(api?.spec.template.metadata.labels);
    expect(service?.spec.ports).toEqual([{ name: 'http', port: 8000, targetPort: 'http' }]);

    const scaled = named('ScaledObject', 'tally-processor');
    expect(named('Deployment', scaled?.spec.scaleTargetRef.name)).toBeDefined();
    const [trigger] = scaled?.spec.triggers ?? [];
    // The total depth of every partition, whatever TALLY_PARTITIONS is.
    expect(trigger).toMatchObject({ type: 'rabbitmq', metadata: { protocol: 'http', useRegex: 'true', operation: 'sum', mode: 'QueueLength' } });
    const pattern = new RegExp(trigger.metadata.queueName);
    expect(['tally.status.0', 'tally.status.15', 'tally.status.255'].every((queue) => pattern.test(queue))).toBe(true);
    expect(['tally.status', 'tally.status.dead', 'tally.status.1x'].some((queue) => pattern.test(queue))).toBe(false);
    expect(named('TriggerAuthentication', trigger.authenticationRef.name)).toBeDefined();
  });

  it('probes /healthz (liveness) and /readyz (readiness) of the API and the processor', () => {
    for (const name of ['tally-api', 'tally-processor']) {
      const [container] = named('Deployment', name)?.spec.template.spec.containers ?? [];
      const port = container.ports[0].name;
      expect(container.livenessProbe.httpGet, name).toEqual({ path: '/healthz', port });
      expect(container.readinessProbe.httpGet, name).toEqual({ path: '/readyz', port });
    }
    // The processor serves them only when told to, and must listen beyond localhost for the kubelet.
    expect(named('ConfigMap', configMapName())?.data).toMatchObject({ PROCESSOR_HEALTH_PORT: '8001', PROCESSOR_HEALTH_HOST: '0.0.0.0', API_HOST: '0.0.0.0' });
  });

  it('gives every container requests and limits, with memory above the measured peak RSS', () => {
    const peakRssMiB: Record<string, number> = { api: 119, processor: 114, broadcaster: 100 };
    const mebibytes = (quantity: string) => Number(/^(\d+)Mi$/.exec(quantity)?.[1] ?? NaN);
    for (const deployment of byKind('Deployment')) {
      for (const container of deployment.spec.template.spec.containers) {
        const { requests, limits } = container.resources;
        expect(Object.keys(requests).sort(), container.name).toEqual(['cpu', 'memory']);
        expect(Object.keys(limits).sort(), container.name).toEqual(['cpu', 'memory']);
        expect(mebibytes(limits.memory), `${container.name} memory limit`).toBeGreaterThan(peakRssMiB[container.name] as number);
      }
    }
  });

  it('takes secrets from the Secret and settings from the ConfigMap, each key it names present', () => {
    const secrets = byKind('Secret');
    const configMaps = byKind('ConfigMap');
    const refs: { kind: string; name: string; key: string }[] = [];
    for (const deployment of byKind('Deployment')) {
      for (const container of deployment.spec.template.spec.containers) {
        for (const env of container.env ?? []) {
          if (env.valueFrom?.secretKeyRef) refs.push({ kind: 'Secret', ...env.valueFrom.secretKeyRef });
          if (env.valueFrom?.configMapKeyRef) refs.push({ kind: 'ConfigMap', ...env.valueFrom.configMapKeyRef });
        }
        for (const from of container.envFrom ?? []) {
          if (from.configMapRef) expect(configMaps.map((c) => c.metadata.name)).toContain(from.configMapRef.name);
        }
      }
    }
    for (const auth of byKind('TriggerAuthentication')) for (const ref of auth.spec.secretTargetRef) refs.push({ kind: 'Secret', ...ref });
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) {
      const object = (ref.kind === 'Secret' ? secrets : configMaps).find((each) => each.metadata.name === ref.name);
      expect(object, `${ref.kind} ${ref.name}`).toBeDefined();
      expect(Object.keys(object?.data ?? {}), `${ref.kind} ${ref.name}`).toContain(ref.key);
    }
    // No password in the ConfigMap; every key of it is a variable the apps read (.env.example).
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    for (const [key, value] of Object.entries(named('ConfigMap', configMapName())?.data ?? {})) {
      expect(value, key).not.toMatch(/:\/\/[^/]*@/);
      expect(example, key).toMatch(new RegExp(`^#? ?${key}=`, 'm'));
    }
  });

  it('lists every RabbitMQ node in AMQP_URL, which the apps accept', () => {
    const secret = byKind('Secret')[0];
    const amqpUrls = Buffer.from(secret?.data?.['AMQP_URL'] ?? '', 'base64').toString().split(',');
    expect(amqpUrls).toHaveLength(3);
    expect(new Set(amqpUrls.map((url) => new URL(url).hostname)).size).toBe(3);
  });
});

function configMapName(): string {
  return byKind('ConfigMap')[0]?.metadata.name ?? 'tally-config';
}
