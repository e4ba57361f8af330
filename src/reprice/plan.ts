// What re-pricing decides for one call, with no I/O: its effective cost (the recorded cost plus every
// correction written for it so far) against what the current price book says for its stored usage. When
// they differ, the answer is ONE new correction record: the signed delta, the new prices as provenance,
// the call's attribution and start_time (same budget period, partition and rollup rows), no tokens.
// Its request_id is derived from the call, the number of corrections it already has and the target cost,
// so a re-run after a crash makes the very same record (the ingest claims and ClickHouse check drop it),
// while a later price change (or a change back) is a new step with a new id.
import { createHash } from 'node:crypto';
import type { AppConfig } from '../config/load.js';
import { createIngestPricer } from '../ingest/pricing.js';
import type { PricedCall } from '../pricing/priceCall.js';
import type { SpendRecord } from '../spendRecord.js';
import type { Corrected } from './read.js';

/** The current price book's answer for a stored call (its usage, service tier and start time). */
export type Repricer = (call: SpendRecord) => PricedCall;

/**
 * The pricer an ingested record without a cost gets (src/ingest/pricing.ts: a model_list name uses its
 * deployment's price book, anything else the catalog), always from the price book: a call billed from the
 * provider's reported cost is never re-priced (decide), and no other call may become one.
 */
export function currentPricer(config: AppConfig): Repricer {
  const price = createIngestPricer(config);
  return (call) => price({ ...call, provider_cost_nano: null });
}

export type Decision =
  | { kind: 'unchanged'; costNano: number }
  /** Billed from the provider's own reported cost (or the ingest caller's): not ours to re-price. */
  | { kind: 'provider' | 'caller'; costNano: number }
  /** The current price book has no price for it: left as it is (a correction to 0 would hide a gap). */
  | { kind: 'unpriced'; costNano: number }
  | { kind: 'correction'; costNano: number; newCostNano: number; record: SpendRecord };

const NO_CORRECTIONS: Corrected = { corrections: 0, costNano: 0, listCostNano: 0 };

/** A correction is no call: every count is 0. */
const NO_USAGE = {
  prompt_tokens: 0,
  completion_tokens: 0,
  cached_tokens: 0,
  cache_write_tokens: 0,
  cache_write_1h_tokens: 0,
  reasoning_tokens: 0,
  audio_input_tokens: 0,
  image_input_tokens: 0,
  audio_output_tokens: 0,
  image_output_tokens: 0,
  web_search_requests: 0,
  total_tokens: 0,
} as const satisfies Partial<SpendRecord>;

/** The correction's id: the same call, step and target always give the same id (≤ 128 chars). */
export function correctionId(requestId: string, step: number, targetNano: number): string {
  const digest = createHash('sha256').update(`${requestId}\n${step}\n${targetNano}`).digest('hex');
  return `correction-${digest.slice(0, 40)}`;
}

export function decide(call: SpendRecord, corrected: Corrected | undefined, price: Repricer): Decision {
  const before = corrected ?? NO_CORRECTIONS;
  const costNano = call.cost_nano + before.costNano;
  if (call.price_source === 'provider') return { kind: 'provider', costNano };
  if (call.price_source === 'caller' || call.cost_status === 'provided') return { kind: 'caller', costNano };
  const now = price(call);
  if (now.cost_status === 'unpriced') return { kind: 'unpriced', costNano };
  if (now.cost_nano === costNano) return { kind: 'unchanged', costNano };
  const { messages: _messages, response: _response, ...attribution } = call;
  const record: SpendRecord = {
    // Attribution, start_time, status, service tier, tags and metadata of the call it corrects.
    ...attribution,
    ...NO_USAGE,
    ...now,
    request_id: correctionId(call.request_id, before.corrections, now.cost_nano),
    response_id: null,
    end_time: call.start_time,
    duration_ms: 0,
    ttft_ms: null,
    usage_estimated: false,
    stream: false,
    cost_nano: now.cost_nano - costNano,
    list_cost_nano: now.list_cost_nano - (call.list_cost_nano + before.listCostNano),
    provider_cost_nano: null,
    corrects_request_id: call.request_id,
    source: 'correction',
  };
  return { kind: 'correction', costNano, newCostNano: now.cost_nano, record };
}

/** One line of the per-model table: calls considered, totals before and after, in exact nano-USD. */
export interface ModelDelta {
  model: string;
  calls: number;
  corrections: number;
  oldNano: bigint;
  newNano: bigint;
}

export interface Skipped {
  provider: number;
  caller: number;
  unpriced: number;
}

/** Adds decisions up per model (and the calls left alone, by reason). */
export class DeltaTable {
  readonly models = new Map<string, ModelDelta>();
  readonly skipped: Skipped = { provider: 0, caller: 0, unpriced: 0 };

  add(model: string, decision: Decision): void {
    if (decision.kind === 'provider' || decision.kind === 'caller' || decision.kind === 'unpriced') {
      this.skipped[decision.kind] += 1;
      return;
    }
    let line = this.models.get(model);
    if (!line) {
      line = { model, calls: 0, corrections: 0, oldNano: 0n, newNano: 0n };
      this.models.set(model, line);
    }
    line.calls += 1;
    line.oldNano += BigInt(decision.costNano);
    if (decision.kind === 'correction') {
      line.corrections += 1;
      line.newNano += BigInt(decision.newCostNano);
    } else {
      line.newNano += BigInt(decision.costNano);
    }
  }

  /** Lines by model name, then the total. */
  lines(): ModelDelta[] {
    return [...this.models.values()].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  }
}
