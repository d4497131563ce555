/**
 * Governance before a call is forwarded: the hook a gateway calls with the parsed request. A
 * blocking decision answers the client in the provider's error envelope (400 for content findings,
 * 403 for budget or model policy), records a flagged span, and the provider never sees the call.
 * The default lets everything through; detectors, input rules, model allow-lists, size limits and
 * spend budgets implement this interface.
 */
import type { GenAiMessage } from '../genai-messages';
import type { Attributes } from '../span';
import type { LlmApi, LlmUsage } from './protocol';

export interface PreflightRequest {
  workspace: string;
  api: LlmApi;
  model: string | undefined;
  body: Record<string, unknown>;
  inputMessages: GenAiMessage[] | undefined;
  bodyBytes: number;
}

export interface PreflightFinding {
  rule: string;
  message: string;
}

export type PreflightDecision =
  | { action: 'allow'; attributes?: Attributes }
  /** The body to forward instead (e.g. with personal data masked). */
  | { action: 'rewrite'; body: Record<string, unknown>; attributes?: Attributes }
  | {
      action: 'block';
      status: 400 | 403;
      message: string;
      findings: PreflightFinding[];
      attributes?: Attributes;
      /** The input as the refused call's span may keep it (what was found, masked); absent: as sent. */
      recordedBody?: Record<string, unknown>;
    };

/** A call that was forwarded, once it ended: what it used, so spend budgets can credit its cost. */
export interface PreflightSettlement {
  workspace: string;
  api: LlmApi;
  /** The model that answered, else the one requested. */
  model: string | undefined;
  /** gen_ai.provider.name of the upstream that answered. */
  providerName: string;
  /** What the provider reported; undefined when none arrived (a cut stream). */
  usage: LlmUsage | undefined;
  /** The last HTTP status of the call; undefined when it never got one. */
  status: number | undefined;
  /** Bytes of the request body, for an estimate when no usage arrived. */
  bodyBytes: number;
}

export interface Preflight {
  check(request: PreflightRequest, signal: AbortSignal): Promise<PreflightDecision> | PreflightDecision;
  /** Called once for every call that reached an upstream, after it ended. */
  settle?(call: PreflightSettlement): void;
}

export const allowAll: Preflight = { check: () => ({ action: 'allow' }) };
