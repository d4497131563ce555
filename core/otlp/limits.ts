/**
 * Limits both OTLP decoders (protobuf and JSON) enforce the same way, with the same error, so
 * that a request is accepted or refused regardless of its encoding.
 */
import { PermanentError } from '../errors';

/**
 * Levels of AnyValue a span attribute may have: a scalar is 1 level, each arrayValue or
 * kvlistValue around it adds one. Kept well below protobufjs's recursion limit of 100 messages
 * (a kvlist level costs 3 messages, an array level 2), so the protobuf decoder reads every request
 * the limit allows and the check below decides, not the library.
 */
export const MAX_ANY_VALUE_DEPTH = 32;

export const ANY_VALUE_TOO_DEEP = `attribute values (arrayValue/kvlistValue) nest deeper than ${MAX_ANY_VALUE_DEPTH} levels`;

/** The refusal (400 / INVALID_ARGUMENT) of a request whose attribute values nest too deep. */
export function anyValueTooDeep(): PermanentError {
  return new PermanentError('RCV_DECODE', ANY_VALUE_TOO_DEEP);
}

/**
 * Nesting of arrays and objects an OTLP/JSON request may have anywhere, unknown fields included
 * (they are otherwise ignored). Far above what MAX_ANY_VALUE_DEPTH needs (about 140 levels), so
 * attribute values too deep meet the AnyValue error first, as over protobuf.
 */
export const MAX_OTLP_JSON_DEPTH = 1024;

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;

const DIGITS_RE = /^-?\d+$/;
// 2^64 has 20 digits: more significant digits than this cannot be in range.
const MAX_SIGNIFICANT_DIGITS = 20;

/**
 * A decimal integer string as a bigint, or undefined when it is not one. Leading zeros are
 * skipped before converting, and a longer number is refused before BigInt sees it: parsing
 * megabytes of digits would take seconds, and no such number fits 64 bits anyway.
 */
export function decimalToBigInt(text: string): bigint | undefined {
  if (!DIGITS_RE.test(text)) return undefined;
  const negative = text.charCodeAt(0) === 45; // '-'
  let first = negative ? 1 : 0;
  while (first < text.length - 1 && text.charCodeAt(first) === 48) first++; // '0'
  if (text.length - first > MAX_SIGNIFICANT_DIGITS) return negative ? INT64_MIN - 1n : UINT64_MAX + 1n;
  const magnitude = BigInt(text.slice(first));
  return negative ? -magnitude : magnitude;
}
