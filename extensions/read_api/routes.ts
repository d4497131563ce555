import type { Host } from '../../core/component';
import type { ApiRoute } from '../../core/http-api';
import type { Logger } from '../../core/logger';
import type { ReadApiExtensionConfig } from './config';

/** What every route module of the read APIs gets. */
export interface ReadApiDeps {
  host: Host;
  config: ReadApiExtensionConfig;
  logger: Logger;
}

/** Every path the read APIs serve (for the config's route-conflict checks). */
export const READ_API_PATHS: readonly string[] = [];

export function readApiRoutes(_deps: ReadApiDeps): ApiRoute[] {
  return [];
}
