// The one extension point of the proxy's calls: plugins register what runs around every call in
// `app.callGuards` (the `call-guards` plugin), by phase, and the proxy runs each list in order:
//   screen      before the upstream request is built: may rewrite the body's text or refuse (guardrails);
//   admission   before forwarding, `policy` guards first (tag policies), then `budget` guards (budgets and
//               rate limits), so a call a policy refuses reserves nothing; each admission is settled once
//               with the call's real outcome;
//   observation once the call's record exists (metrics); never refuses.
// A guard refuses a call by throwing an AppError (429 budget_exceeded, 403 policy_violation, …). A call pays
// only for what is registered: a phase nobody uses costs nothing.
import type { Principal } from './auth/principal.js';
import type { SpendRecord } from './spendRecord.js';

/** The kinds of call the proxy serves (a SpendRecord's `call_type`). */
export type CallType = 'chat' | 'completion' | 'embedding' | 'messages' | 'responses';

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

export interface AdmissionGuard {
  name: string;
  admit(ctx: CallContext): Promise<Admission>;
}

export interface CallScreener {
  name: string;
  /** Runs after auth and routing, before the upstream request is built and before any admission. */
  screen(input: ScreenInput): Screening | undefined;
}

export interface CallObserver {
  name: string;
  /** Sees every finished call's record, refusals included. Must not throw. */
  observe(record: SpendRecord, timings: CallTimings): void;
}

export type AdmissionPhase = 'policy' | 'budget';

/** The guards of every call, by phase. Each `add…` returns the function that removes what it added. */
export class CallGuards {
  readonly screeners: CallScreener[] = [];
  /** In run order: the `policy` phase, then the `budget` phase. */
  readonly admitters: AdmissionGuard[] = [];
  readonly observers: CallObserver[] = [];
  private policies = 0;

  addScreener(screener: CallScreener): () => void {
    return this.insert(this.screeners, screener, this.screeners.length);
  }

  addAdmission(phase: AdmissionPhase, guard: AdmissionGuard): () => void {
    const at = phase === 'policy' ? this.policies : this.admitters.length;
    const remove = this.insert(this.admitters, guard, at);
    if (phase === 'policy') this.policies++;
    return () => {
      if (phase === 'policy' && this.admitters.includes(guard)) this.policies--;
      remove();
    };
  }

  addObserver(observer: CallObserver): () => void {
    return this.insert(this.observers, observer, this.observers.length);
  }

  private insert<T>(list: T[], item: T, at: number): () => void {
    list.splice(at, 0, item);
    return () => {
      const i = list.indexOf(item);
      if (i !== -1) list.splice(i, 1);
    };
  }
}
