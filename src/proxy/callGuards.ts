// Extension point run by the proxy before it forwards a call and after the call ends. Budgets and rate
// limits (src/budgets), guardrails and tag policies register guards here; the proxy does not know them.
// A guard refuses a call by throwing an AppError (429 budget_exceeded, 403 policy_violation, …).
import type { Principal } from '../auth/principal.js';
import type { SpendRecord } from '../spendRecord.js';
import type { CallType } from './exchange/types.js';

export interface CallContext {
  requestId: string;
  principal: Principal;
  /** The model name the client asked for (a `model_name` of model_list). */
  model: string;
  provider: string;
  upstreamModel: string;
  callType: string;
  customerId: string | null;
  /** Merged, sorted, de-duplicated tags. */
  tags: string[];
  /** Input tokens counted locally before forwarding. */
  promptTokens: number;
  /** Output tokens the call may produce at most: (max_tokens or the model's limit) × the choices billed (`n`). */
  maxCompletionTokens: number;
  /**
   * Worst-case cost in nano-USD (prompt counted + max output, each at its dearest rate: worstCaseCostNano);
   * 0 when the model is unpriced.
   */
  maxCostNano: number;
  /** The call start time (injectable clock for tests). */
  now: Date;
}

export interface CallOutcome {
  costNano: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  status: number;
}

export interface Admission {
  /** Headers to add to the response (x-ratelimit-*, …). */
  headers?: Record<string, string>;
  /** Called exactly once when the call ends (success, error or client disconnect). */
  settle(outcome: CallOutcome): Promise<void>;
}

/** A call's request as a screen sees it, before anything is built for the provider. */
export interface ScreenInput {
  callType: CallType;
  principal: Principal;
  /** The client's JSON body: a screen may rewrite its text in place (guardrail masking). */
  body: Record<string, unknown>;
  /** The record's metadata: a screen notes what it did (`guardrail: "email:mask"`), refusals included. */
  metadata: Record<string, string>;
}

export interface Screening {
  /** Applied to the response text stored for the Logs tab. */
  maskStoredText?(text: string): string;
}

/** Where the call's time went, in ms since it started (null when it never got that far). */
export interface CallTimings {
  forwardedAtMs: number | null;
  upstreamAnsweredAtMs: number | null;
}

export interface CallGuard {
  name: string;
  admit(ctx: CallContext): Promise<Admission>;
  /**
   * Runs after auth and routing, before the upstream request is built (and before any guard's admit):
   * may rewrite the body's text, or refuse by throwing an AppError.
   */
  screen?(input: ScreenInput): Screening | undefined;
  /** Sees every finished call's record, refusals included (metrics). Must not throw. */
  observe?(record: SpendRecord, timings: CallTimings): void;
}
