import type { IncomingHttpHeaders } from 'node:http';

/** A header's trimmed value (the first when repeated), undefined when absent or blank. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}
