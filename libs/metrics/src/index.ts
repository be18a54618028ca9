export { createMetricsRegistry, renderMetrics } from './registry';
export type { MetricsRegistryOptions, MetricsText } from './registry';
export { startMetricsServer } from './server';
export type { MetricsServer, MetricsServerOptions } from './server';
export { Counter, Gauge, Histogram, Registry } from 'prom-client';
