// Everything known about one proxied call, gathered as it runs, and its single ending: the guards'
// admissions settled once with the real outcome, and exactly one SpendRecord handed to the sink —
// for successes, upstream errors, refusals and client disconnects alike.
import type { FastifyBaseLogger } from 'fastify';
import type { Principal } from '../../auth/principal.js';
import type { Admission, CallOutcome, CallType } from '../../callGuards.js';
import type { PriceEntry } from '../../pricing/modelPricing.js';
import { type PricedCall, priceCall } from '../../pricing/priceCall.js';
import { type TokenUsage, totalTokens, usageRecordFields, ZERO_USAGE } from '../../pricing/usage.js';
import type { SpendRecord } from '../../spendRecord.js';
import type { SpendSink } from '../../spendSink.js';
import type { Deployment } from '../deployments.js';
import type { StreamTap } from '../exchange/types.js';
import { uuidv7 } from '../requestId.js';
import type { ResponsesCall } from '../responsesItemStore.js';
import { countTokensOffLoop } from '../tokenCountPool.js';
import { type Attribution, OVER_RESERVATION_KEY } from './attribution.js';

const clip = (value: string, max: number) => (value.length > max ? value.slice(0, max) : value);

export class CallState {
  readonly requestId: string;
  readonly startedAt: Date;
  private readonly startHr = performance.now();
  principal: Principal | null = null;
  model = '';
  stream = false;
  attribution: Attribution = { tags: [], customerId: null, metadata: {} };
  deployment: Deployment | null = null;
  provider = '';
  /** The price-book entry in force at the call's start (standard tier); null when never routed. */
  prices: PriceEntry | null = null;
  /** general_settings.bill_provider_reported_cost. */
  billProviderCost = true;
  /** An upper bound of the prompt's tokens, counted without a tokenizer (promptTokenBound): what is reserved. */
  promptTokensBound = 0;
  /** The request body as sent upstream-bound (after screening): counted exactly only if no usage comes back. */
  promptBody: Record<string, unknown> | null = null;
  /** The worst case priced before forwarding (what budget guards reserve); null when never routed. */
  reservedCostNano: number | null = null;
  readonly admissions: Admission[] = [];
  /** Set once the request went to the provider (or the mock). */
  forwarded = false;
  /** Set when the provider answered 2xx: from then on its usage is owed. */
  answered = false;
  clientGone = false;
  status = 0;
  errorType: string | null = null;
  reported: { usage: TokenUsage | null; complete: boolean } = { usage: null, complete: false };
  responseId: string | null = null;
  responseText = '';
  ttftMs: number | null = null;
  prompt: string | null = null;
  /** A Responses API call's item keeping and stream-failure frames; null for every other call type. */
  responses: ResponsesCall | null = null;
  /** Guardrail masks for the response text stored for the Logs tab (callHooks.ts). */
  readonly storedTextMasks: Array<(text: string) => string> = [];
  /** ms since start when the request went upstream, and when the provider's response headers came. */
  forwardedAtMs: number | null = null;
  upstreamAnsweredAtMs: number | null = null;
  private finished = false;
  private usageOutcome: Promise<{ usage: TokenUsage; estimated: boolean }> | null = null;
  private pricedUsage: { usage: TokenUsage; priced: PricedCall } | null = null;

  constructor(readonly callType: CallType) {
    this.startedAt = new Date();
    this.requestId = uuidv7(this.startedAt.getTime());
  }

  elapsedMs(): number {
    return performance.now() - this.startHr;
  }

  markFirstByte(): void {
    this.ttftMs ??= Math.round(this.elapsedMs());
  }

  /** Reads usage and text off a finished (or interrupted) stream. */
  takeFrom(tap: StreamTap): void {
    this.reported = tap.usage();
    this.responseId = tap.responseId();
    this.responseText = tap.text();
  }

  /**
   * Provider-reported usage when complete; otherwise tokens counted locally with the tokenizer (in a worker
   * thread), flagged as estimated. Settled once the usage is known: later calls get the same answer.
   */
  finalUsage(): Promise<{ usage: TokenUsage; estimated: boolean }> {
    this.usageOutcome ??= this.countUsage();
    return this.usageOutcome;
  }

  private async countUsage(): Promise<{ usage: TokenUsage; estimated: boolean }> {
    const { usage, complete } = this.reported;
    if (usage && complete) return { usage, estimated: false };
    if (!this.answered && !(this.forwarded && this.clientGone)) return { usage: ZERO_USAGE, estimated: false };
    const base = usage ?? ZERO_USAGE;
    const counts = await countTokensOffLoop({
      prompt: !base.promptTokens && this.promptBody ? { shape: this.callType, body: this.promptBody } : null,
      text: this.callType === 'embedding' ? '' : this.responseText,
    });
    return {
      usage: {
        ...base,
        promptTokens: base.promptTokens || counts.prompt,
        completionTokens: Math.max(base.completionTokens, counts.completion),
      },
      estimated: true,
    };
  }

  /** The usage priced at the tier the provider reported, with its provenance (once per usage). */
  priced(usage: TokenUsage): PricedCall {
    if (this.pricedUsage?.usage !== usage) {
      const priced = priceCall(this.prices, usage, { billProviderCost: this.billProviderCost });
      this.pricedUsage = { usage, priced };
    }
    return this.pricedUsage.priced;
  }

  /** The cost of the usage; a provider reporting absurd counts is charged the largest amount we can store. */
  costOf(usage: TokenUsage): number {
    return this.priced(usage).cost_nano;
  }

  /**
   * Settles every admission and makes the record durable; runs once, whatever path the call took. The
   * callers await it before the last byte of the answer leaves. The settles and the append are issued in
   * the same tick and are in flight together: the caller waits one Redis round trip for both.
   */
  async finish(sink: SpendSink, storePrompts: boolean, log: FastifyBaseLogger): Promise<SpendRecord | null> {
    if (this.finished) return null;
    this.finished = true;
    const { usage, estimated } = await this.finalUsage();
    const priced = this.priced(usage);
    const cost = priced.cost_nano;
    const outcome: CallOutcome = {
      costNano: cost,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      totalTokens: totalTokens(usage),
      status: this.status,
    };
    const record = this.toRecord(usage, estimated, priced, storePrompts);
    const durable = sink
      .record(record)
      .catch((err: unknown) => log.error({ err, requestId: this.requestId }, 'spend record was not accepted'));
    await Promise.all([
      ...this.admissions.map((admission) =>
        admission
          .settle(outcome)
          .catch((err: unknown) => log.error({ err, requestId: this.requestId }, 'call guard settle failed')),
      ),
      durable,
    ]);
    return record;
  }

  /**
   * A call is settled at its real cost even when that is above what was reserved (the provider reported
   * more tokens than counted or allowed): the money was spent. Such a record says so, by how much.
   */
  private recordMetadata(cost: number): Record<string, string> {
    const reserved = this.reservedCostNano;
    if (reserved === null || cost <= reserved) return this.attribution.metadata;
    return { ...this.attribution.metadata, [OVER_RESERVATION_KEY]: String(cost - reserved) };
  }

  private toRecord(usage: TokenUsage, estimated: boolean, priced: PricedCall, storePrompts: boolean): SpendRecord {
    const endedAt = new Date();
    const p = this.principal;
    const record: SpendRecord = {
      request_id: this.requestId,
      response_id: this.responseId ? clip(this.responseId, 256) : null,
      start_time: this.startedAt.toISOString(),
      end_time: endedAt.toISOString(),
      duration_ms: Math.max(0, endedAt.getTime() - this.startedAt.getTime()),
      ttft_ms: this.stream ? this.ttftMs : null,
      call_type: this.callType,
      status: this.status || 500,
      error_type: this.errorType,
      key_hash: p?.keyHash ?? null,
      key_alias: p?.keyAlias ?? null,
      user_id: p?.userId ?? null,
      team_id: p?.teamId ?? null,
      customer_id: this.attribution.customerId,
      model: clip(this.model, 256),
      upstream_model: clip(this.deployment?.upstreamModel ?? '', 256),
      provider: clip(this.provider, 64),
      ...usageRecordFields(usage),
      service_tier: usage.serviceTier,
      ...priced,
      corrects_request_id: null,
      usage_estimated: estimated,
      tags: this.attribution.tags,
      metadata: this.recordMetadata(priced.cost_nano),
      stream: this.stream,
      source: 'proxy',
    };
    if (storePrompts) {
      record.messages = this.prompt;
      record.response = this.responseText ? this.storedTextMasks.reduce((t, mask) => mask(t), this.responseText) : null;
    }
    return record;
  }
}
