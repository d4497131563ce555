import type { ComponentSettings, Processor, SpanConsumer } from '../../core/component';
import { ShuttingDownError } from '../../core/errors';
import type { ConsumeResult } from '../../core/evaluation';
import type { SpanBatch } from '../../core/span';
import { BUILTIN_DETECTORS, BUILTIN_PRIORITY } from '../../core/pii/detectors';
import { Scanner } from '../../core/pii/scanner';
import type { ActiveDetector } from '../../core/pii/scanner';
import { TextRedactor } from '../../core/pii/text-redactor';
import type { ProcessorTelemetry } from '../../core/telemetry';
import { BUILTIN_DETECTOR_NAMES } from './config';
import type { RedactProcessorConfig } from './config';
import { KeyFilter } from './key-filter';
import { SpanRedactor } from './span-redactor';

/**
 * Every detector the config names, enabled or not, with a stable id (built-ins in documented
 * order, then custom ones in config order); `enabled` holds the enabled built-ins in scanning
 * priority order, `custom` the custom ones in config order.
 */
export function detectorsFor(config: RedactProcessorConfig): { all: ActiveDetector[]; enabled: ActiveDetector[]; custom: ActiveDetector[] } {
  const all: ActiveDetector[] = [];
  const builtins = new Map<string, ActiveDetector>();
  for (const name of BUILTIN_DETECTOR_NAMES) {
    const detector = { id: all.length, name, action: config.detectors[name].action, definition: BUILTIN_DETECTORS[name] };
    all.push(detector);
    builtins.set(name, detector);
  }
  const custom = config.custom_detectors.map((c) => {
    const detector: ActiveDetector = {
      id: all.length,
      name: c.name,
      action: c.action,
      definition: { pattern: c.pattern, wordStart: false },
    };
    all.push(detector);
    return detector;
  });
  const enabled = BUILTIN_PRIORITY.filter((name) => config.detectors[name].enabled).map((name) => builtins.get(name) as ActiveDetector);
  return { all, enabled, custom };
}

/**
 * Finds personal data and secrets in every string a span carries and masks, hashes or drops
 * them before anything downstream (Kafka, ClickHouse, logs) sees them.
 */
export class RedactProcessor implements Processor {
  private readonly redactor: SpanRedactor;
  private readonly names: readonly string[];
  private readonly telemetry: ProcessorTelemetry;
  private stopped = false;

  constructor(
    config: RedactProcessorConfig,
    private readonly settings: ComponentSettings<ProcessorTelemetry>,
    private readonly next: SpanConsumer,
  ) {
    const { all, enabled, custom } = detectorsFor(config);
    const scanner = new Scanner(enabled, config.hash_key, custom);
    this.names = all.map((d) => d.name);
    const urlCredentials = config.detectors.url_credentials.enabled ? all.find((d) => d.name === 'url_credentials')?.id : undefined;
    this.redactor = new SpanRedactor(
      new TextRedactor(scanner, all.length),
      new KeyFilter(config.allow_keys, config.block_keys),
      this.names,
      scanner.enabled,
      urlCredentials,
    );
    this.telemetry = settings.telemetry;
  }

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.stopped = true;
  }

  consume(batch: SpanBatch, signal: AbortSignal): Promise<ConsumeResult | void> {
    if (this.stopped) return Promise.reject(new ShuttingDownError(this.settings.id));
    const { batch: redacted, totals, blocked } = this.redactor.redactBatch(batch);
    if (totals.dirty) {
      for (let id = 0; id < this.names.length; id++) {
        const n = totals.counts[id];
        // Labels are detector names from the config, never matched text.
        if (n > 0) this.telemetry.event('redaction', n, this.names[id]);
      }
    }
    if (blocked > 0) this.telemetry.event('blocked_key', blocked);
    return this.next.consume(redacted, signal);
  }
}
