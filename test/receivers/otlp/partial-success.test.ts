/**
 * Partial success over all three transports: one request mixing valid and invalid spans stores the
 * valid ones and answers partial_success with the count and the reasons.
 */
import { ExportTraceServiceResponse } from '../../../core/otlp/pb';
import { hexBytes, jsonRequest, nanos, protoRequest, spanMsg } from '../../core/otlp/otlp-fixtures';
import { otlpPipelineYaml, queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { closeGrpcClients, exportCall, grpcClient } from '../../support/otlp-grpc-client';

const yaml = (database: string) => otlpPipelineYaml({ database, grpc: true });

const REASONS = [
  'span 1 of scope 0 of resource 0: trace_id must be 16 bytes and not all zero',
  'span 2 of scope 0 of resource 0: span_id must be 8 bytes and not all zero',
  'span 3 of scope 0 of resource 0: end_time_unix_nano must not be before start_time_unix_nano',
];

/** valid, all-zero trace id, 7-byte span id, end before start, valid — in the trace `traceHex`. */
function mixedProto(traceHex: string): Uint8Array {
  const traceId = hexBytes(traceHex);
  return protoRequest([
    spanMsg({ name: 'valid-1', traceId, spanId: hexBytes('0000000000000a01') }),
    spanMsg({ name: 'zero-trace', traceId: new Uint8Array(16), spanId: hexBytes('0000000000000a02') }),
    spanMsg({ name: 'short-span-id', traceId, spanId: hexBytes('00000000000a03') }),
    spanMsg({ name: 'backwards', traceId, spanId: hexBytes('0000000000000a04'), startTimeUnixNano: nanos(2000n), endTimeUnixNano: nanos(1000n) }),
    spanMsg({ name: 'valid-2', traceId, spanId: hexBytes('0000000000000a05') }),
  ]);
}

function mixedJson(traceHex: string): string {
  const span = (name: string, traceId: string, spanId: string, start = '1000', end = '2000') => ({
    traceId, spanId, name, startTimeUnixNano: start, endTimeUnixNano: end,
  });
  return jsonRequest([
    span('valid-1', traceHex, '0000000000000a01'),
    span('zero-trace', '0'.repeat(32), '0000000000000a02'),
    span('short-span-id', traceHex, '00000000000a03'),
    span('backwards', traceHex, '0000000000000a04', '2000', '1000'),
    span('valid-2', traceHex, '0000000000000a05'),
  ]);
}

describe('partial success', () => {
  let daemon: TestDaemon;
  const database = uniqueDatabase('partial');
  beforeAll(async () => {
    daemon = await startDaemon(yaml(database));
  });
  afterAll(async () => {
    closeGrpcClients();
    await daemon.stop();
  });

  const post = (body: Uint8Array | string, type: string) =>
    fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, { method: 'POST', body, headers: { 'content-type': type } });

  const transports: [string, (traceHex: string) => Promise<{ rejected: number; message: string }>][] = [
    ['OTLP/HTTP protobuf', async (t) => {
      const res = await post(mixedProto(t), 'application/x-protobuf');
      expect(res.status).toBe(200);
      const { partialSuccess } = ExportTraceServiceResponse.decode(new Uint8Array(await res.arrayBuffer()));
      return { rejected: Number(partialSuccess?.rejectedSpans), message: partialSuccess?.errorMessage ?? '' };
    }],
    ['OTLP/HTTP JSON', async (t) => {
      const res = await post(mixedJson(t), 'application/json');
      expect(res.status).toBe(200);
      const { partialSuccess } = (await res.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
      return { rejected: Number(partialSuccess.rejectedSpans), message: partialSuccess.errorMessage };
    }],
    ['OTLP/gRPC', async (t) => {
      const result = await exportCall(grpcClient(daemon), mixedProto(t));
      if (!result.ok) throw result.error;
      const { partialSuccess } = ExportTraceServiceResponse.decode(result.response);
      return { rejected: Number(partialSuccess?.rejectedSpans), message: partialSuccess?.errorMessage ?? '' };
    }],
  ];

  it.each(transports.map(([name, send], i) => [name, send, `9${i}`.repeat(16)] as const))(
    'over %s: stores the valid spans and reports the three invalid ones',
    async (_name, send, traceHex) => {
      const { rejected, message } = await send(traceHex);
      expect(rejected).toBe(3);
      expect(message.split('; ')).toEqual(REASONS);
      const rows = await queryRows(daemon, `SELECT SpanName FROM otel_traces WHERE TraceId = '${traceHex}' ORDER BY SpanName`, database);
      expect(rows).toEqual([{ SpanName: 'valid-1' }, { SpanName: 'valid-2' }]);
    },
  );
});
