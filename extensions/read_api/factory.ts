import { ApiExtension, apiClaims } from '../../core/api-extension';
import type { ExtensionFactory } from '../../core/component';
import { readApiExtensionConfigSchema } from './config';
import { READ_API_PATHS, readApiRoutes } from './routes';

export const readApiExtensionFactory: ExtensionFactory<typeof readApiExtensionConfigSchema> = {
  type: 'read_api',
  kind: 'extension',
  stability: 'development',
  summary: 'Reads and reviews stored data: logs with verdicts and decisions, projects and tasks, agent tasks and conversations, verification, incidents',
  configSchema: readApiExtensionConfigSchema,
  createExtension: (config, settings) => new ApiExtension(config, settings, (host) => readApiRoutes({ host, config, logger: settings.logger })),
  claimedRoutes: (config) => apiClaims(config, READ_API_PATHS),
};
