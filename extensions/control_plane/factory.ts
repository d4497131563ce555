import { ApiExtension, apiClaims } from '../../core/api-extension';
import type { ExtensionFactory } from '../../core/component';
import { controlPlaneExtensionConfigSchema } from './config';
import { CONTROL_PLANE_PATHS, controlPlaneRoutes } from './routes';

export const controlPlaneExtensionFactory: ExtensionFactory<typeof controlPlaneExtensionConfigSchema> = {
  type: 'control_plane',
  kind: 'extension',
  stability: 'development',
  summary: 'Rules, alert rules, delivery targets, guardrail and failover policies, settings and keys managed over HTTP, applied live',
  configSchema: controlPlaneExtensionConfigSchema,
  createExtension: (config, settings) => new ApiExtension(config, settings, (host) => controlPlaneRoutes({ host, config, logger: settings.logger })),
  claimedRoutes: (config) => apiClaims(config, CONTROL_PLANE_PATHS),
};
