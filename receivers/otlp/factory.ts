import type { ReceiverFactory } from '../../core/component';
import { otlpReceiverConfigSchema } from './config';
import { OtlpReceiver } from './otlp-receiver';

export const otlpReceiverFactory: ReceiverFactory<typeof otlpReceiverConfigSchema> = {
  type: 'otlp',
  kind: 'receiver',
  stability: 'beta',
  summary: 'OTLP traces over gRPC and HTTP (protobuf and JSON; gzip, zstd), as every OpenTelemetry SDK and Collector sends them.',
  configSchema: otlpReceiverConfigSchema,
  createReceiver: (config, settings, next) => new OtlpReceiver(config, settings, next),
  claimedRoutes: (config) => [
    ...(config.http.enabled ? [{ listen: config.http.listen, route: config.http.traces_path, configPath: 'http.listen', auth: config.auth }] : []),
    // gRPC has its own HTTP/2 server: it claims the whole address.
    ...(config.grpc.enabled ? [{ listen: config.grpc.listen, route: '*', configPath: 'grpc.listen', auth: config.auth }] : []),
  ],
};
