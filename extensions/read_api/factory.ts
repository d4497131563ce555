import { apiClaims } from '../../core/api-extension';
import type { ExtensionFactory } from '../../core/component';
import { readApiExtensionConfigSchema } from './config';
import { ReadApiExtension } from './media-extension';
import { READ_API_PATHS } from './routes';

export const readApiExtensionFactory: ExtensionFactory<typeof readApiExtensionConfigSchema> = {
  type: 'read_api',
  kind: 'extension',
  stability: 'development',
  summary: 'Reads and reviews stored data: logs with verdicts and decisions, projects and tasks, agent tasks and conversations, verification, incidents',
  configSchema: readApiExtensionConfigSchema,
  createExtension: (config, settings) => new ReadApiExtension(config, settings),
  claimedRoutes: (config) => apiClaims(config, READ_API_PATHS),
};
