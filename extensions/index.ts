import type { ExtensionFactory } from '../core/component';
import { controlPlaneExtensionFactory } from './control_plane/factory';

export const extensionFactories: readonly ExtensionFactory[] = [controlPlaneExtensionFactory];
