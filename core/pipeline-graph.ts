import { handOn, type Exporter, type Extension, type Processor, type Receiver, type SpanConsumer } from './component';
import type { ResolvedConfig } from './config/load-config';
import { isPermanent } from './errors';
import { mergeConsumeResults } from './evaluation';
import type { ConsumeResult } from './evaluation';
import type { Logger } from './logger';
import type { SpanBatch } from './span';
import type { Telemetry } from './telemetry';

/** The instantiated components of the selected pipelines, in start order. */
export interface PipelineGraph {
  exporters: Map<string, Exporter>;
  /** Per pipeline, in listed order. */
  processors: Map<string, Processor[]>;
  receivers: Map<string, Receiver>;
  /** The extensions of service.extensions, started after the receivers. */
  extensions: Map<string, Extension>;
}

/**
 * Receivers fan into each of their pipelines; a pipeline's processors run in listed order; the last
 * one fans out to every exporter of the pipeline. Receivers and exporters named in several
 * pipelines are one shared instance; processors are instantiated per pipeline.
 */
export function buildPipelineGraph(
  config: ResolvedConfig,
  pipelineNames: readonly string[],
  logger: Logger,
  telemetry: Telemetry,
): PipelineGraph {
  const exporters = new Map<string, Exporter>();
  const processors = new Map<string, Processor[]>();
  const receivers = new Map<string, Receiver>();
  const pipelineHeads = new Map<string, SpanConsumer>();

  for (const name of pipelineNames) {
    const pipeline = config.service.pipelines[name];
    const outputs = pipeline.exporters.map((id) => {
      let exporter = exporters.get(id);
      if (!exporter) {
        const { factory, config: cfg } = required(config.exporters.get(id), 'exporter', id);
        exporter = factory.createExporter(cfg, {
          id,
          logger: logger.child({ component: id, kind: 'exporter' }),
          telemetry: telemetry.forExporter(id),
        });
        exporters.set(id, exporter);
      }
      return exporter;
    });
    let next: SpanConsumer = fanOut(outputs);
    const chain: Processor[] = [];
    for (const id of [...pipeline.processors].reverse()) {
      const { factory, config: cfg } = required(config.processors.get(id), 'processor', id);
      const processor = factory.createProcessor(
        cfg,
        {
          id,
          logger: logger.child({ component: id, kind: 'processor', pipeline: name }),
          telemetry: telemetry.forProcessor(id),
        },
        next,
      );
      chain.unshift(processor);
      next = processor;
    }
    processors.set(name, chain);
    pipelineHeads.set(name, next);
  }

  const receiverIds = new Set(pipelineNames.flatMap((p) => config.service.pipelines[p].receivers));
  for (const id of receiverIds) {
    const heads = pipelineNames
      .filter((p) => config.service.pipelines[p].receivers.includes(id))
      .map((p) => pipelineHeads.get(p) as SpanConsumer);
    const { factory, config: cfg } = required(config.receivers.get(id), 'receiver', id);
    receivers.set(
      id,
      factory.createReceiver(
        cfg,
        { id, logger: logger.child({ component: id, kind: 'receiver' }), telemetry: telemetry.forReceiver(id) },
        fanOut(heads),
      ),
    );
  }
  const extensions = new Map<string, Extension>();
  for (const id of config.service.extensions) {
    const { factory, config: cfg } = required(config.extensions.get(id), 'extension', id);
    extensions.set(id, factory.createExtension(cfg, { id, logger: logger.child({ component: id, kind: 'extension' }), telemetry: telemetry.forReceiver(id) }));
  }
  return { exporters, processors, receivers, extensions };
}

/**
 * Sends one batch to several consumers and resolves only when all of them did. When some fail, the
 * batch is reported retryable unless every failure is permanent: a retry then re-delivers to the
 * consumers that succeeded, which the stores' replay deduplication absorbs.
 */
export function fanOut(consumers: readonly SpanConsumer[]): SpanConsumer {
  if (consumers.length === 1) return consumers[0];
  return {
    // Not async itself: an async function's frame would hold the batch until every consumer is done.
    consume: (batch: SpanBatch, signal: AbortSignal) => settleAll(consumers.map((c) => handOn(c, batch, signal))),
  };
}

async function settleAll(pending: Promise<ConsumeResult | void>[]): Promise<ConsumeResult | undefined> {
  const results = await Promise.allSettled(pending);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  if (failures.length === 0) {
    return mergeConsumeResults(results.map((r) => (r as PromiseFulfilledResult<ConsumeResult | void>).value));
  }
  throw failures.find((f) => !isPermanent(f)) ?? failures[0];
}

function required<T>(value: T | undefined, kind: string, id: string): T {
  // The config loader has already reported undefined references; reaching this is a bug.
  if (value === undefined) throw new Error(`${kind} "${id}" is not configured`);
  return value;
}
