import { z } from 'zod';
import type { ComponentRegistry, Processor, ProcessorFactory } from '../../core/component';
import { registry } from '../../components';
import type { Attributes } from '../../core/span';

const CLIENT_PREFIX = 'client.tracehouse.';

/**
 * Test-only: stands in for the processors that run before `alert` in a real pipeline (enrich,
 * evaluate_rules), which set `tracehouse.project`, `tracehouse.cost_usd` and `tracehouse.verdict`.
 * Tests send those values over OTLP, where the receiver keeps them as `client.tracehouse.*` (only
 * the daemon sets `tracehouse.*`); this processor promotes them back, as an upstream processor would.
 */
export const upstreamStampsFactory: ProcessorFactory<z.ZodObject<Record<string, never>>> = {
  type: 'upstream_stamps',
  kind: 'processor',
  stability: 'development',
  summary: 'test processor: promotes client.tracehouse.* to tracehouse.*',
  configSchema: z.strictObject({}),
  createProcessor: (_config, _settings, next): Processor => ({
    start: async () => undefined,
    shutdown: async () => undefined,
    consume: (batch, signal) => next.consume(batch.map((span) => ({ ...span, attributes: promote(span.attributes) })), signal),
  }),
};

function promote(attributes: Attributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) if (!key.startsWith(CLIENT_PREFIX)) out[key] = value;
  // The test's value wins over the receiver's stamp, as a processor's would.
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith(CLIENT_PREFIX)) out[`tracehouse.${key.slice(CLIENT_PREFIX.length)}`] = value;
  }
  return out;
}

/** The built-in components plus the test-only processors above. */
export const testRegistry: ComponentRegistry = {
  ...registry,
  processors: [...registry.processors, upstreamStampsFactory],
};
