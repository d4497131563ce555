/** Every API the test broker implements; ApiVersions advertises exactly this list. */
import type { ApiHandler } from '../context';
import { apiVersionsHandler } from './api-versions';
import { createTopicsHandler } from './create-topics';
import { describeGroupsHandler } from './describe-groups';
import { fetchHandler } from './fetch';
import { findCoordinatorHandler } from './find-coordinator';
import { heartbeatHandler } from './heartbeat';
import { initProducerIdHandler } from './init-producer-id';
import { joinGroupHandler } from './join-group';
import { leaveGroupHandler } from './leave-group';
import { listOffsetsHandler } from './list-offsets';
import { metadataHandler } from './metadata';
import { offsetCommitHandler } from './offset-commit';
import { offsetFetchHandler } from './offset-fetch';
import { produceHandler } from './produce';
import { syncGroupHandler } from './sync-group';

export const API_HANDLERS: readonly ApiHandler[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  offsetCommitHandler,
  offsetFetchHandler,
  findCoordinatorHandler,
  joinGroupHandler,
  heartbeatHandler,
  leaveGroupHandler,
  syncGroupHandler,
  describeGroupsHandler,
  apiVersionsHandler,
  createTopicsHandler,
  initProducerIdHandler,
];
