import { z } from 'zod';
import { isHttpUrl } from './http-url';

// Both run on the client's upload, megabytes long, so both are linear: DATA_URL is anchored and
// its runs stop at the ";" or "," that ends them (no character is read by two repetitions), and
// each WHITESPACE match consumes what it read. The base64 checks below are loops, not expressions:
// an unanchored /=+$/ costs quadratic time on a run of "=" not at the end.
const DATA_URL = /^data:([^;,]*)(?:;[^;,]*)*;base64,/i;
const WHITESPACE = /\s+/g;

/** An upload's bytes as base64 text, with the media type a data: URL prefix named. */
export interface Base64Upload {
  base64: string;
  dataUrlType: string | undefined;
}

/** Strips a data: URL prefix and line breaks (MIME base64 wraps its lines). */
export function base64Of(upload: string): Base64Upload {
  const prefix = DATA_URL.exec(upload);
  const body = prefix ? upload.slice(prefix[0].length) : upload;
  return { base64: body.replace(WHITESPACE, ''), dataUrlType: prefix?.[1] || undefined };
}

/** Bytes the base64 text decodes to, known without decoding it. */
export function decodedLength(base64: string): number {
  let data = base64.length;
  while (data > 0 && base64.charCodeAt(data - 1) === 61 /* = */) data--;
  return Math.floor((data * 3) / 4);
}

function isBase64Char(c: number): boolean {
  // A-Z a-z 0-9 + / (base64) and - _ (base64url)
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 45 || c === 95;
}

/** Base64 or base64url characters, then at most two "=" of padding (one pass). */
export function isBase64(text: string): boolean {
  let i = 0;
  while (i < text.length && isBase64Char(text.charCodeAt(i))) i++;
  if (text.length - i > 2) return false;
  for (; i < text.length; i++) if (text.charCodeAt(i) !== 61 /* = */) return false;
  return true;
}

const label = z.string().min(1, 'must not be empty').max(255, 'must be at most 255 characters');

/**
 * One attachment: `{ url }` (stored by reference, never fetched) or `{ upload }` (base64, stored
 * by content). Exactly one of the two; the size bound is checked here, before anything is decoded,
 * so that an oversized file is listed with the body's other problems.
 */
export function attachmentSchema(maxBytes: number) {
  return z
    .object({
      url: z.string().optional(),
      upload: z.string().optional(),
      name: label.optional(),
      filename: label.optional(),
      content_type: label.optional(),
      mimeType: label.optional(),
    })
    .superRefine((attachment, ctx) => {
      const { url, upload } = attachment;
      if ((url === undefined) === (upload === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'give exactly one of "url" and "upload"', path: ['url'], input: attachment });
        return;
      }
      if (url !== undefined && !isHttpUrl(url)) {
        ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL (send file contents as "upload")', path: ['url'], input: url });
      }
      if (upload !== undefined) {
        const { base64 } = base64Of(upload);
        const size = decodedLength(base64);
        if (size > maxBytes) {
          ctx.addIssue({ code: 'too_big', origin: 'file', maximum: maxBytes, inclusive: true, message: `must be at most ${maxBytes} bytes after base64 decoding (is ${size})`, path: ['upload'], input: undefined });
        } else if (size === 0) {
          ctx.addIssue({ code: 'custom', message: 'must not be empty', path: ['upload'], input: undefined });
        } else if (!isBase64(base64) || base64.length % 4 === 1) {
          ctx.addIssue({ code: 'custom', message: 'must be base64 (optionally a data: URL)', path: ['upload'], input: undefined });
        }
      }
    });
}
