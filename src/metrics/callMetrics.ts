// Per-call metrics, fed by the proxy's `observe` hook with each finished call's SpendRecord (refusals,
// errors and client disconnects included). Labels are bounded: team ids come from the control plane,
// models and providers from model_list (a call that never routed is `(unrouted)`, so a client cannot mint
// series by inventing model names); tags only from the configured allow-list; never users or keys.
import { Counter, Histogram, type Metric } from 'prom-client';
import type { CallObserver, CallTimings } from '../callGuards.js';
import type { SpendRecord } from '../spendRecord.js';

const CALL_LABELS = ['team', 'model', 'provider', 'status_class'] as const;
const COST_LABELS = ['team', 'model', 'provider'] as const;
const LATENCY_LABELS = ['model', 'provider'] as const;
const TOKEN_KINDS = [
  ['prompt', 'prompt_tokens'],
  ['completion', 'completion_tokens'],
  ['cached', 'cached_tokens'],
  ['cache_write', 'cache_write_tokens'],
  ['reasoning', 'reasoning_tokens'],
] as const;

const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export interface CallMetrics {
  metrics: Metric[];
  observer: CallObserver;
}

const statusClass = (status: number) => `${Math.floor(status / 100)}xx`;

/** The series, unregistered (the metrics plugin registers them), created once per app. */
function callSeries() {
  const common = { registers: [] };
  const requests = new Counter({
    name: 'spendhouse_requests_total',
    help: 'Proxied calls by team, model, provider and HTTP status class (refusals included)',
    labelNames: CALL_LABELS,
    ...common,
  });
  const spend = new Counter({
    name: 'spendhouse_spend_nano_total',
    help: 'Spend in nano-USD (USD x 1e9, integer increments; exact up to 2^53 nano = $9M per series)',
    labelNames: COST_LABELS,
    ...common,
  });
  const tokens = new Counter({
    name: 'spendhouse_tokens_total',
    help: 'Tokens by kind (prompt, completion, cached, cache_write, reasoning)',
    labelNames: [...COST_LABELS, 'kind'],
    ...common,
  });
  const overhead = new Histogram({
    name: 'spendhouse_proxy_overhead_seconds',
    help: 'Time from request arrival to forwarding upstream: auth, guardrails, budgets, request building',
    labelNames: ['provider'],
    buckets: OVERHEAD_BUCKETS,
    ...common,
  });
  const upstream = new Histogram({
    name: 'spendhouse_upstream_latency_seconds',
    help: "Time from forwarding to the provider's response headers",
    labelNames: LATENCY_LABELS,
    buckets: LATENCY_BUCKETS,
    ...common,
  });
  const ttft = new Histogram({
    name: 'spendhouse_ttft_seconds',
    help: 'Time to the first streamed byte sent to the client (streams only)',
    labelNames: LATENCY_LABELS,
    buckets: LATENCY_BUCKETS,
    ...common,
  });
  const duration = new Histogram({
    name: 'spendhouse_request_duration_seconds',
    help: 'Whole call duration as recorded (start_time to end_time)',
    labelNames: LATENCY_LABELS,
    buckets: LATENCY_BUCKETS,
    ...common,
  });
  const tagRequests = new Counter({
    name: 'spendhouse_tag_requests_total',
    help: 'Proxied calls carrying an allow-listed tag (metrics.tag_allow_list)',
    labelNames: ['tag', 'status_class'],
    ...common,
  });
  const tagSpend = new Counter({
    name: 'spendhouse_tag_spend_nano_total',
    help: 'Spend in nano-USD of calls carrying an allow-listed tag',
    labelNames: ['tag'],
    ...common,
  });
  return { requests, spend, tokens, overhead, upstream, ttft, duration, tagRequests, tagSpend };
}

export function createCallMetrics(tagAllowList: readonly string[]): CallMetrics {
  const { requests, spend, tokens, overhead, upstream, ttft, duration, tagRequests, tagSpend } = callSeries();
  const allowed = new Set(tagAllowList);

  function observe(record: SpendRecord, timings: CallTimings): void {
    const routed = record.provider !== '';
    const model = routed ? record.model : '(unrouted)';
    const base = { team: record.team_id ?? '', model, provider: record.provider };
    requests.inc({ ...base, status_class: statusClass(record.status) });
    if (record.cost_nano > 0) spend.inc(base, record.cost_nano);
    for (const [kind, field] of TOKEN_KINDS) {
      if (record[field] > 0) tokens.inc({ ...base, kind }, record[field]);
    }
    const latencyLabels = { model, provider: record.provider };
    const { forwardedAtMs, upstreamAnsweredAtMs } = timings;
    if (forwardedAtMs !== null) overhead.observe({ provider: record.provider }, forwardedAtMs / 1000);
    if (forwardedAtMs !== null && upstreamAnsweredAtMs !== null) {
      upstream.observe(latencyLabels, (upstreamAnsweredAtMs - forwardedAtMs) / 1000);
    }
    if (record.ttft_ms !== null) ttft.observe(latencyLabels, record.ttft_ms / 1000);
    if (routed) duration.observe(latencyLabels, record.duration_ms / 1000);
    for (const tag of record.tags) {
      if (!allowed.has(tag)) continue;
      tagRequests.inc({ tag, status_class: statusClass(record.status) });
      if (record.cost_nano > 0) tagSpend.inc({ tag }, record.cost_nano);
    }
  }

  return {
    metrics: [requests, spend, tokens, overhead, upstream, ttft, duration, tagRequests, tagSpend],
    observer: { name: 'metrics', observe },
  };
}
