import { z } from 'zod';
import type {
  ComponentRegistry,
  Exporter,
  ExporterFactory,
  Host,
  Processor,
  ProcessorFactory,
  ReceiverFactory,
  SpanConsumer,
} from '../../core/component';
import { BackpressureError, PermanentError } from '../../core/errors';
import type { Span, SpanBatch } from '../../core/span';

/**
 * Test-only components for exercising the pipeline graph itself: an exporter that records what it
 * got (and can be told to fail), a processor that tags spans, and a receiver the test drives.
 */
export interface Recorder {
  events: string[];
  batches: Map<string, SpanBatch[]>;
  receivers: Map<string, SpanConsumer>;
  failures: Map<string, 'permanent' | 'retryable' | 'backpressure'>;
  /** When set, exporters wait for it before accepting a batch (to observe ack-after-durable). */
  gate?: Promise<void>;
  /** What the `releasing` exporter got, held weakly (it keeps no span while it waits for the gate). */
  weak: WeakRef<Span>[];
}

export function createRecorder(): Recorder {
  return { events: [], batches: new Map(), receivers: new Map(), failures: new Map(), weak: [] };
}

const empty = z.strictObject({});

export function recordingRegistry(recorder: Recorder, base?: ComponentRegistry): ComponentRegistry {
  const exporter: ExporterFactory<typeof empty> = {
    type: 'recording',
    kind: 'exporter',
    stability: 'development',
    summary: 'test exporter',
    configSchema: empty,
    createExporter: (_cfg, settings): Exporter => ({
      start: async () => void recorder.events.push(`start ${settings.id}`),
      shutdown: async () => void recorder.events.push(`shutdown ${settings.id}`),
      consume: async (batch) => {
        const failure = recorder.failures.get(settings.id);
        if (failure === 'permanent') throw new PermanentError('EXP_TEST', `${settings.id} refuses`);
        if (failure === 'retryable') throw new Error(`${settings.id} is down`);
        if (failure === 'backpressure') throw new BackpressureError('EXP_QUEUE_FULL', `${settings.id} queue is full`, 2);
        if (recorder.gate) await recorder.gate;
        const list = recorder.batches.get(settings.id) ?? [];
        list.push(batch);
        recorder.batches.set(settings.id, list);
      },
    }),
  };
  const releasing: ExporterFactory<typeof empty> = {
    type: 'releasing',
    kind: 'exporter',
    stability: 'development',
    summary: 'test exporter that holds spans only weakly while it waits for the gate',
    configSchema: empty,
    createExporter: (): Exporter => ({
      start: async () => undefined,
      shutdown: async () => undefined,
      consume: (batch) => {
        for (const span of batch) recorder.weak.push(new WeakRef(span));
        return recorder.gate ?? Promise.resolve();
      },
    }),
  };
  const processor: ProcessorFactory<typeof empty> = {
    type: 'tagging',
    kind: 'processor',
    stability: 'development',
    summary: 'test processor',
    configSchema: empty,
    createProcessor: (_cfg, settings, next): Processor => ({
      start: async (host: Host) => {
        recorder.events.push(`start ${settings.id}`);
        // An operator action, for the admin listener's /actions endpoint.
        host.registerAdminAction(settings.id, 'echo', async (params) => {
          if (params.fail === 'permanent') throw new PermanentError('PRC_TEST', 'bad parameters');
          if (params.fail === 'retryable') throw new Error('target is down');
          return { echoed: params };
        });
      },
      shutdown: async () => void recorder.events.push(`shutdown ${settings.id}`),
      consume: (batch, signal) =>
        next.consume(
          batch.map((s) => ({ ...s, attributes: { ...s.attributes, [`tag.${settings.id}`]: true } })),
          signal,
        ),
    }),
  };
  const receiver: ReceiverFactory<typeof empty> = {
    type: 'driven',
    kind: 'receiver',
    stability: 'development',
    summary: 'test receiver',
    configSchema: empty,
    claimedRoutes: () => [],
    createReceiver: (_cfg, settings, next) => ({
      start: async (_host: Host) => {
        recorder.events.push(`start ${settings.id}`);
        recorder.receivers.set(settings.id, next);
      },
      shutdown: async () => void recorder.events.push(`shutdown ${settings.id}`),
    }),
  };
  return {
    receivers: [...(base?.receivers ?? []), receiver],
    processors: [...(base?.processors ?? []), processor],
    exporters: [...(base?.exporters ?? []), exporter, releasing],
  };
}
