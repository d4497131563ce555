/**
 * What a json_schema rule runs on a span's text besides its own structure: `pattern`s and
 * `format`s. Both see client text, so both run in linear time: patterns (pattern,
 * patternProperties, propertyNames) on the linear-time engine (RE2), formats that ajv-formats
 * defines by a regular expression on RE2 too, and the three whose expressions RE2 cannot run
 * (url, hostname, duration) as code here. The other formats are ajv-formats' functions (dates and
 * times, uri, byte, regex, numbers), which anchor short expressions without nested repetition.
 */
import type Ajv from 'ajv';
import type { Format } from 'ajv';
import type { RegExpEngine } from 'ajv/dist/types';
import { fullFormats } from 'ajv-formats/dist/formats';
import { LinearRegex } from '../../core/linear-regex';

/** ajv's `code.regExp` option: schema patterns compiled for the linear-time engine. */
export const linearRegExp: RegExpEngine = Object.assign((pattern: string, flags: string) => LinearRegex.compile(pattern, flags), {
  code: 'linearRegExp',
});

/** `{ url }`: an absolute http, https or ftp URL with a host, as the WHATWG URL parser reads it. */
function url(text: string): boolean {
  if (/\s/.test(text) || !URL.canParse(text)) return false;
  const { protocol, hostname } = new URL(text);
  return (protocol === 'http:' || protocol === 'https:' || protocol === 'ftp:') && hostname !== '';
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOSTNAME = LinearRegex.compile(`^${LABEL}(?:\\.${LABEL})*\\.?$`, 'i');

/** RFC 1123 host names: labels of up to 63 characters, at most 253 without a final dot. */
function hostname(text: string): boolean {
  const length = text.endsWith('.') ? text.length - 1 : text.length;
  return length >= 1 && length <= 253 && HOSTNAME.testWhole(text);
}

const DURATION = LinearRegex.compile('^P(?:(?:\\d+Y)?(?:\\d+M)?(?:\\d+D)?(?:T(?:\\d+H)?(?:\\d+M)?(?:\\d+S)?)?|\\d+W)$');

/** ISO 8601 durations (P1Y2M3DT4H5M6S, P2W): something after P, and a digit after T. */
function duration(text: string): boolean {
  if (text.length < 2 || !DURATION.testWhole(text)) return false;
  const t = text.indexOf('T');
  return t < 0 || (t + 1 < text.length && text.charCodeAt(t + 1) >= 48 && text.charCodeAt(t + 1) <= 57);
}

let formats: Record<string, Format> | undefined;

/** ajv-formats' formats with every regular expression replaced by a linear-time check. */
function linearFormats(): Record<string, Format> {
  if (formats === undefined) {
    formats = { url, hostname, duration };
    for (const [name, format] of Object.entries(fullFormats)) {
      if (name in formats) continue;
      const regex = format instanceof RegExp ? format : undefined;
      if (regex === undefined) continue;
      const linear = LinearRegex.compile(regex.source, regex.flags.replace(/[^ims]/g, ''));
      formats[name] = (text: string) => linear.test(text);
    }
  }
  return formats;
}

/** Replaces ajv-formats' expressions on `ajv` (after addFormats) with the linear-time checks. */
export function useLinearFormats(ajv: Ajv): void {
  for (const [name, format] of Object.entries(linearFormats())) ajv.addFormat(name, format);
}
