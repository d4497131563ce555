import type { ExtensionFactory } from '../../core/component';
import { CONTROL_PLANE_PATHS } from './routes';
import { controlPlaneExtensionConfigSchema } from './config';
import { ControlPlaneExtension } from './extension';

export const controlPlaneExtensionFactory: ExtensionFactory<typeof controlPlaneExtensionConfigSchema> = {
  type: 'control_plane',
  kind: 'extension',
  stability: 'development',
  summary: 'Rules, alert rules, delivery targets, guardrail and failover policies, settings and keys managed over HTTP, applied live',
  configSchema: controlPlaneExtensionConfigSchema,
  createExtension: (config, settings) => new ControlPlaneExtension(config, settings),
  claimedRoutes: (config) => CONTROL_PLANE_PATHS.map((route) => ({ listen: config.listen, route, configPath: 'listen', auth: config.auth })),
};
