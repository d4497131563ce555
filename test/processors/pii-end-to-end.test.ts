/**
 * The promise of the ingest tier: a prompt holding an e-mail address, a card number and an API key
 * goes in over OTLP and none of the three is anywhere in ClickHouse, while the row says what was
 * redacted and enrich has still priced the call.
 */
import { encodeTraceRequestProto } from '../../core/otlp/encode';
import { makeSpan } from '../../core/span';
import { otlpPipelineYaml, queryRows, startDaemon, uniqueDatabase } from '../support/daemon';

const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';
const API_KEY = 'sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z';

describe('PII never reaches ClickHouse', () => {
  it('redacts the prompt (plain and inside JSON messages) before it is stored', async () => {
    const database = uniqueDatabase('pii');
    const yaml = otlpPipelineYaml({ database }).replace(
      'exporters:\n',
      'processors:\n  redact:\n  enrich:\nexporters:\n',
    ).replace('exporters: [clickhouse] }', 'processors: [redact, enrich], exporters: [clickhouse] }');
    const daemon = await startDaemon(yaml);
    try {
      const prompt = `Refund ${EMAIL}, card ${CARD}; our key is ${API_KEY}.`;
      const span = makeSpan({
        traceId: 'ab0c0000000000000000000000000001',
        spanId: '00000000000000b1',
        name: 'chat gpt-4o',
        kind: 'client',
        startTimeUnixNano: 1_763_900_000_000_000_000n,
        endTimeUnixNano: 1_763_900_001_000_000_000n,
        status: { code: 'error', message: `failed for ${EMAIL}` },
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': 1000n,
          'gen_ai.usage.output_tokens': 100n,
          'gen_ai.prompt': prompt,
          'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: prompt }] }]),
        },
        events: [{ timeUnixNano: 1_763_900_000_500_000_000n, name: 'user_message', attributes: { content: prompt }, droppedAttributesCount: 0 }],
      });
      const res = await fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, {
        method: 'POST',
        body: encodeTraceRequestProto([span]),
        headers: { 'content-type': 'application/x-protobuf' },
      });
      expect(res.status).toBe(200);

      const everything = await (await fetch(`${daemon.adminUrl}/?database=${database}`, { method: 'POST', body: 'SELECT * FROM otel_traces FORMAT JSONEachRow' })).text();
      expect(everything).toContain('00000000000000b1');
      for (const secret of [EMAIL, CARD, CARD.replace(/ /g, ''), API_KEY]) expect(everything).not.toContain(secret);
      expect(everything).toContain('[REDACTED:EMAIL]');

      const [row] = await queryRows<{ SpanAttributes: Record<string, string>; Input: string; CostUsd: number; StatusMessage: string }>(
        daemon,
        'SELECT SpanAttributes, Input, CostUsd, StatusMessage FROM otel_traces',
        database,
      );
      // Counts per detector are on the row (a kvlist, stored as JSON in the map).
      const counts = JSON.parse(row.SpanAttributes['tracehouse.redactions']) as Record<string, number>;
      expect(counts.email).toBeGreaterThanOrEqual(3);
      expect(counts.payment_card).toBeGreaterThanOrEqual(2);
      expect(counts.api_key).toBeGreaterThanOrEqual(2);
      // JSON inside the attribute stays valid JSON.
      expect(JSON.parse(row.Input)[0].parts[0].content).toContain('[REDACTED:PAYMENT_CARD]');
      expect(row.StatusMessage).toBe('failed for [REDACTED:EMAIL]');
      expect(row.CostUsd).toBeGreaterThan(0);
    } finally {
      await daemon.stop();
    }
  });
});
