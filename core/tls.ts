/**
 * TLS settings of outbound clients (Kafka brokers, Redis): the config fields they share and the
 * Node.js TLS options built from them, reading the PEM files once at start.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TracehouseError, errorMessage } from './errors';

export const tlsFields = {
  /** false keeps the section (e.g. for an environment toggle) but connects in plaintext. */
  enabled: z.boolean().default(true),
  /** PEM file of the CA(s) to trust instead of the system roots. */
  ca_file: z.string().min(1).optional(),
  /** PEM client certificate and key, for servers that require mutual TLS. */
  cert_file: z.string().min(1).optional(),
  key_file: z.string().min(1).optional(),
  /** Accept any server certificate. For testing only: it gives up the protection TLS offers. */
  insecure_skip_verify: z.boolean().default(false),
};

/** The settings with `extra` fields; cert_file and key_file go together. */
export function tlsSchema<E extends z.ZodRawShape>(extra: E) {
  return z.strictObject({ ...tlsFields, ...extra }).superRefine((tls, ctx) => {
    const { cert_file, key_file } = tls as { cert_file?: string; key_file?: string };
    if ((cert_file === undefined) !== (key_file === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [cert_file === undefined ? 'cert_file' : 'key_file'],
        message: 'cert_file and key_file go together (mutual TLS needs both)',
      });
    }
  });
}

/** Reading a TLS file failed: a deployment mistake no retry fixes. */
export class TlsFileError extends TracehouseError {}

export interface TlsFileOptions {
  rejectUnauthorized: boolean;
  ca?: Buffer[];
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Node.js TLS options of the settings; `where` names them in errors (`tls`,
 * `shared_state.redis.tls`), `code` is the error's code.
 */
export function tlsFileOptions(tls: { insecure_skip_verify: boolean; ca_file?: string; cert_file?: string; key_file?: string }, where: string, code: string): TlsFileOptions {
  const read = (file: string, option: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new TlsFileError(code, `${where}.${option} ${file}: ${errorMessage(err)}`, { cause: err });
    }
  };
  return {
    rejectUnauthorized: !tls.insecure_skip_verify,
    ...(tls.ca_file ? { ca: [read(tls.ca_file, 'ca_file')] } : {}),
    ...(tls.cert_file ? { cert: read(tls.cert_file, 'cert_file') } : {}),
    ...(tls.key_file ? { key: read(tls.key_file, 'key_file') } : {}),
  };
}
