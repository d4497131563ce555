import type { Logger } from '../logger';
import type { ControlObject } from './objects';

/**
 * Warnings about control-plane objects a component cannot apply: logged once per version of an
 * object, so that a watcher rebuilding on every change does not repeat itself.
 */
export class ObjectWarnings {
  private readonly warned = new Set<string>();

  constructor(
    private readonly logger: Logger,
    private readonly fields: Record<string, unknown> = {},
  ) {}

  warnOnce(object: ControlObject, message: string, extra: Record<string, unknown> = {}): void {
    const key = `${object.kind}\u0000${object.workspace}\u0000${object.id}\u0000${object.version}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.logger.warn({ ...this.fields, kind: object.kind, workspace: object.workspace, id: object.id, ...extra }, message);
  }
}
