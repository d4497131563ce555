import { z } from 'zod';
import { textMessage, type GenAiMessage } from '../../core/genai-messages';

const url = z.string().min(1, 'must not be empty');
/** `image_url: "https://..."` or `image_url: { url }`, as OpenAI-style content parts send it. */
const urlRef = z.union([url, z.looseObject({ url })], { error: 'must be a URL or an object { url }' });
const mime = { mime_type: z.string().min(1).optional(), mimeType: z.string().min(1).optional() };

type MediaType = 'image_url' | 'audio_url' | 'file_url';

function mediaPart<T extends MediaType>(type: T) {
  return z
    .looseObject({ type: z.literal(type), [type]: urlRef.optional(), url: url.optional(), ...mime })
    .refine((part) => part[type] !== undefined || part.url !== undefined, { message: `give ${type}.url (or url)`, path: [type] });
}

const PART_TYPES = ['text', 'image_url', 'audio_url', 'file_url'] as const;

const inputPartSchema = z.discriminatedUnion(
  'type',
  [z.looseObject({ type: z.literal('text'), text: z.string() }), mediaPart('image_url'), mediaPart('audio_url'), mediaPart('file_url')],
  { error: `type must be one of ${PART_TYPES.join(', ')}` },
);

type InputPart = z.output<typeof inputPartSchema>;

const partsSchema = z.array(inputPartSchema);

/**
 * `input`: plain text, or an array of multi-modal content parts. Checked by hand rather than as a
 * zod union so that a bad part is reported at its own path (input[1].image_url) instead of as
 * one "Invalid input" for the whole field.
 */
export const inputSchema = z.unknown().transform((value, ctx): string | InputPart[] => {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const parsed = partsSchema.safeParse(value, { reportInput: true });
    if (parsed.success) return parsed.data;
    // The issues are final already (paths relative to `input`); zod prefixes the field's path.
    for (const issue of parsed.error.issues) ctx.issues.push(issue as z.core.$ZodRawIssue);
    return z.NEVER;
  }
  ctx.issues.push({ code: 'custom', message: 'must be a string or an array of content parts (text, image_url, audio_url, file_url)', input: value });
  return z.NEVER;
});

export type LogInput = z.output<typeof inputSchema>;

/** A part of a GenAI message (OpenTelemetry gen_ai.input.messages). */
export type MessagePart = { type: 'text'; content: string } | { type: 'uri'; modality: string; uri: string; mime_type?: string };

const MODALITY: Record<MediaType, string> = { image_url: 'image', audio_url: 'audio', file_url: 'document' };

function uriPart(part: Exclude<InputPart, { type: 'text' }>): MessagePart {
  const ref = part[part.type as MediaType] as z.output<typeof urlRef> | undefined;
  const uri = typeof ref === 'string' ? ref : (ref?.url ?? part.url ?? '');
  const mimeType = part.mime_type ?? part.mimeType;
  // A file whose type is known to be an image, audio or video is that modality, as OTel reads it.
  const known = mimeType ? /^(image|audio|video)\//.exec(mimeType)?.[1] : undefined;
  const modality = part.type === 'file_url' && known ? known : MODALITY[part.type as MediaType];
  return { type: 'uri', modality, uri, ...(mimeType ? { mime_type: mimeType } : {}) };
}

/** The input as OpenTelemetry GenAI messages: one user message, or undefined when there is none. */
export function inputMessages(input: LogInput | undefined, inputText: string | undefined): string | undefined {
  let parts: MessagePart[] = [];
  if (typeof input === 'string') parts = [{ type: 'text', content: input }];
  else if (input) parts = input.map((part) => (part.type === 'text' ? { type: 'text', content: part.text } : uriPart(part)));
  if (parts.length === 0 && inputText !== undefined) parts = [{ type: 'text', content: inputText }];
  const message: GenAiMessage = { role: 'user', parts };
  return parts.length > 0 ? JSON.stringify([message]) : undefined;
}

/** The output as one assistant message. */
export function outputMessages(output: string): string {
  return JSON.stringify([textMessage('assistant', output)]);
}
