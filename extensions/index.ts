import type { ExtensionFactory } from '../core/component';
import { controlPlaneExtensionFactory } from './control_plane/factory';
import { readApiExtensionFactory } from './read_api/factory';

export const extensionFactories: readonly ExtensionFactory[] = [controlPlaneExtensionFactory, readApiExtensionFactory];
