import type { ComponentRegistry } from './core/component';
import { exporterFactories } from './exporters/index';
import { extensionFactories } from './extensions/index';
import { processorFactories } from './processors/index';
import { receiverFactories } from './receivers/index';

/** Every built-in component, registered explicitly (no import side effects). */
export const registry: ComponentRegistry = {
  receivers: receiverFactories,
  processors: processorFactories,
  exporters: exporterFactories,
  extensions: extensionFactories,
};
