import type { IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { TracehouseError, errorMessage } from '../../core/errors';
import type { Logger } from '../../core/logger';

/** Where a dead-lettered message came from; written into its headers. */
export interface MessageSource {
  topic: string;
  partition: number;
  offset: string;
}

/** Why a message could not be delivered; written into its headers. */
export interface DeadLetterReason {
  code: string;
  message: string;
}

/** Header names on dead-lettered messages (documented in the README). */
export const DEAD_LETTER_HEADERS = {
  error: 'tracehouse-error',
  code: 'tracehouse-error-code',
  topic: 'tracehouse-source-topic',
  partition: 'tracehouse-source-partition',
  offset: 'tracehouse-source-offset',
} as const;

/**
 * Writes messages that can never be delivered to a dead-letter topic, as they were read (key,
 * value, original headers) plus headers saying why and where from. The producer connects on first
 * use, since most deployments never dead-letter anything; a failed send is retryable for the
 * caller (RCV_KAFKA_DEAD_LETTER), which then must not commit past the message.
 */
export class DeadLetterWriter {
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly logger: Logger,
  ) {}

  async send(topic: string, message: KafkaMessage, source: MessageSource, reason: DeadLetterReason): Promise<void> {
    const headers: IHeaders = {
      ...message.headers,
      [DEAD_LETTER_HEADERS.error]: reason.message,
      [DEAD_LETTER_HEADERS.code]: reason.code,
      [DEAD_LETTER_HEADERS.topic]: source.topic,
      [DEAD_LETTER_HEADERS.partition]: String(source.partition),
      [DEAD_LETTER_HEADERS.offset]: source.offset,
    };
    try {
      const producer = await this.connected();
      // acks -1 (all in-sync replicas): the source offset is committed right after this resolves.
      await producer.send({ topic, acks: -1, messages: [{ key: message.key, value: message.value, headers }] });
    } catch (err) {
      // A broken connection may leave kafkajs's producer unusable; start over on the next send.
      if (!this.closed) this.reset();
      throw new TracehouseError('RCV_KAFKA_DEAD_LETTER', `could not write to dead-letter topic ${topic}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    const pending = this.connecting;
    this.connecting = undefined;
    this.producer = undefined;
    const producer = await pending?.catch(() => undefined);
    await producer?.disconnect().catch((err: unknown) => this.logger.debug({ err: errorMessage(err) }, 'dead-letter producer disconnect failed'));
  }

  private connected(): Promise<Producer> {
    if (this.closed) return Promise.reject(new Error('the receiver is shutting down'));
    this.connecting ??= (async () => {
      const producer = this.kafka.producer({ allowAutoTopicCreation: true });
      await producer.connect();
      this.producer = producer;
      return producer;
    })();
    return this.connecting;
  }

  private reset(): void {
    const producer = this.producer;
    this.producer = undefined;
    this.connecting = undefined;
    void producer?.disconnect().catch(() => undefined);
  }
}
