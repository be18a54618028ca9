import { cpus, release, totalmem } from 'node:os';
import { devstackDir, managementFetch, readState, type DevstackUrls } from '@tally/devstack';
import type { MongoClient } from 'mongodb';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  os: string;
}

export interface ServerInfo {
  /** e.g. "RabbitMQ 3.10.8" */
  rabbitmq: string;
  /** e.g. "FerretDB v2.5.0" or "MongoDB 7.0.14" */
  mongodb: string;
  /** How the devstack provides each service, e.g. `{ rabbitmq: "rabbitmq-server", mongodb: "ferretdb" }`. */
  sources: Record<string, string>;
}

export function describeMachine(): MachineInfo {
  const all = cpus();
  return {
    cpus: all.length,
    cpuModel: all[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${process.platform} ${release()}`,
  };
}

export async function describeServers(root: string, urls: DevstackUrls, mongo: MongoClient): Promise<ServerInfo> {
  const sources = Object.fromEntries((readState(devstackDir(root))?.services ?? []).map((s) => [s.name, s.source]));
  return { rabbitmq: await rabbitmqVersion(urls.managementUrl), mongodb: await mongodbVersion(mongo), sources };
}

async function rabbitmqVersion(managementUrl: string | undefined): Promise<string> {
  if (!managementUrl) return 'RabbitMQ (version unknown)';
  try {
    const response = await managementFetch(managementUrl, '/overview');
    const overview = (await response.json()) as { rabbitmq_version?: string };
    return `RabbitMQ ${overview.rabbitmq_version ?? '(version unknown)'}`;
  } catch {
    return 'RabbitMQ (version unknown)';
  }
}

async function mongodbVersion(mongo: MongoClient): Promise<string> {
  const info = await mongo.db().admin().command({ buildInfo: 1 });
  // FerretDB answers with the MongoDB version it emulates, and its own: v1 in ferretdbVersion, v2 in ferretdb.version.
  const ferretdb = (info['ferretdb'] as { version?: unknown } | undefined)?.version ?? info['ferretdbVersion'];
  return typeof ferretdb === 'string' ? `FerretDB ${ferretdb}` : `MongoDB ${info['version']}`;
}
