/**
 * Regroups a flat span batch into OTLP's ResourceSpans/ScopeSpans nesting. Decoders share one
 * resource and one scope object per group, so object identity is the grouping key: spans that
 * arrived together leave together without comparing attribute maps.
 */
import type { InstrumentationScope, Resource, Span, SpanBatch } from '../span';

export interface ScopeGroup {
  scope: InstrumentationScope;
  schemaUrl: string;
  spans: Span[];
}

export interface ResourceGroup {
  resource: Resource;
  scopes: ScopeGroup[];
}

export function groupSpans(batch: SpanBatch): ResourceGroup[] {
  const groups: ResourceGroup[] = [];
  const byResource = new Map<Resource, ResourceGroup>();
  // Spans of one group are usually adjacent; remembering the last group skips most map lookups.
  let lastResource: ResourceGroup | undefined;
  let lastScope: ScopeGroup | undefined;
  for (let i = 0; i < batch.length; i++) {
    const span = batch[i];
    if (
      lastScope !== undefined &&
      lastResource!.resource === span.resource &&
      lastScope.scope === span.scope &&
      lastScope.schemaUrl === span.scopeSchemaUrl
    ) {
      lastScope.spans.push(span);
      continue;
    }
    let rg = byResource.get(span.resource);
    if (rg === undefined) {
      rg = { resource: span.resource, scopes: [] };
      byResource.set(span.resource, rg);
      groups.push(rg);
    }
    let sg: ScopeGroup | undefined;
    for (const candidate of rg.scopes) {
      if (candidate.scope === span.scope && candidate.schemaUrl === span.scopeSchemaUrl) {
        sg = candidate;
        break;
      }
    }
    if (sg === undefined) {
      sg = { scope: span.scope, schemaUrl: span.scopeSchemaUrl, spans: [] };
      rg.scopes.push(sg);
    }
    sg.spans.push(span);
    lastResource = rg;
    lastScope = sg;
  }
  return groups;
}
