import type { Host } from '../../core/component';
import type { ApiRoute } from '../../core/http-api';
import type { Logger } from '../../core/logger';
import { AGENT_TASK_PATHS, agentTaskRoutes } from './agent-tasks-api';
import type { ReadApiExtensionConfig } from './config';
import { CONVERSATION_PATHS, conversationRoutes } from './conversations-api';
import { INCIDENT_PATHS, incidentRoutes } from './incidents-routes';
import { LOGS_PATHS, logRoutes } from './logs-api';
import { MEDIA_PATHS, mediaRoutes, SIGNED_MEDIA_PATH } from './media-api';
import { PROJECTS_PATHS, projectRoutes } from './projects-api';
import { PROJECT_TASKS_PATHS, projectTaskRoutes } from './projects-tasks-api';
import { VERIFICATION_PATHS, verificationRoutes } from './verification-api';

/** What every route module of the read APIs gets. */
export interface ReadApiDeps {
  host: Host;
  config: ReadApiExtensionConfig;
  logger: Logger;
}

/** Every path the read APIs serve (for the config's route-conflict checks). */
export const READ_API_PATHS: readonly string[] = [...PROJECTS_PATHS, ...PROJECT_TASKS_PATHS, ...MEDIA_PATHS, SIGNED_MEDIA_PATH, ...INCIDENT_PATHS, ...AGENT_TASK_PATHS, ...CONVERSATION_PATHS, ...VERIFICATION_PATHS, ...LOGS_PATHS];

export function readApiRoutes(deps: ReadApiDeps): ApiRoute[] {
  return [...projectRoutes(deps), ...projectTaskRoutes(deps), ...mediaRoutes(deps), ...incidentRoutes(deps), ...agentTaskRoutes(deps), ...conversationRoutes(deps), ...verificationRoutes(deps), ...logRoutes(deps)];
}
