/**
 * The built-in detectors of personal data and secrets (see detectors.ts), by name, and what the
 * `redact` processor can do with a match. Shared by `redact` and the gateway's preflight.
 */

/** Built-in detectors, in the order the redact README documents them. */
export const BUILTIN_DETECTOR_NAMES = [
  'email',
  'phone',
  'payment_card',
  'iban',
  'us_ssn',
  'ipv4',
  'ipv6',
  'api_key',
  'aws_access_key',
  'github_token',
  'slack_token',
  'jwt',
  'bearer_token',
  'private_key',
  'url_credentials',
] as const;

export type BuiltinDetectorName = (typeof BUILTIN_DETECTOR_NAMES)[number];

export const REDACT_ACTIONS = ['mask', 'hash', 'drop'] as const;
export type RedactAction = (typeof REDACT_ACTIONS)[number];
