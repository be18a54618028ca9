import { collectDefaultMetrics, Registry } from 'prom-client';

export interface MetricsRegistryOptions {
  /**
   * Also collect Node's process metrics (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, ...).
   * @default true
   */
  defaultMetrics?: boolean;
}

/** A registry of its own (never prom-client's global one), so that tests can hold several side by side. */
export function createMetricsRegistry({ defaultMetrics = true }: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

export interface MetricsText {
  contentType: string;
  body: string;
}

/** The registry's metrics in the Prometheus text format. */
export async function renderMetrics(registry: Registry): Promise<MetricsText> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
