// Alert webhooks: one Slack-compatible JSON POST (`{"text": …}` plus the event's fields, so scripts need
// not parse the text) per event and subject per period. De-duplication is a Redis SET NX with a TTL, so N
// instances noticing the same condition (ingest lag, dead letters) still send one alert. Delivery is
// fire-and-forget: a failing webhook is logged, never surfaced to the call or check that raised it.
// Alert texts carry caller-chosen values (budget labels, key aliases, tags, models): `text` is escaped as
// Slack documents (`&`, `<`, `>`), so a tag `<!channel>` reads as text instead of pinging a channel.
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

export type AlertEventName =
  | 'soft_budget_crossed'
  | 'hard_budget_hit'
  | 'budget_threshold_crossed'
  | 'budget_forecast_exceeded'
  | 'ingest_lag'
  | 'dead_letters_present'
  | 'archive_failing'
  | 'reconciliation_drift'
  | 'spend_anomaly';

export interface AlertEvent {
  event: AlertEventName;
  /** What the event is about (a budget scope and period, `ingest`, …): one alert per event and subject. */
  subject: string;
  text: string;
  /** Extra JSON fields of the payload. */
  fields?: Record<string, unknown>;
  /** De-duplication window; default alerts.dedup_seconds. */
  dedupSeconds?: number;
}

export interface AlertNotifierOptions {
  url: string | null;
  dedupSeconds: number;
  log: FastifyBaseLogger;
}

const DELIVERY_TIMEOUT_MS = 5000;

/** Slack's control characters as entities (api.slack.com, "Escaping text"): no mention, link or command. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export class AlertNotifier {
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly redis: Redis,
    private readonly options: AlertNotifierOptions,
  ) {}

  get enabled(): boolean {
    return this.options.url !== null;
  }

  /** Claims the event for this period (SET NX) and posts it; resolves to whether this call sent it. */
  async send(alert: AlertEvent): Promise<boolean> {
    const url = this.options.url;
    if (!url) return false;
    const ttl = Math.max(1, Math.ceil(alert.dedupSeconds ?? this.options.dedupSeconds));
    const claimed = await this.redis.set(`alerts:sent:${alert.event}:${alert.subject}`, '1', 'EX', ttl, 'NX');
    if (claimed !== 'OK') return false;
    this.options.log.warn({ alert: alert.event, subject: alert.subject }, alert.text);
    const body = JSON.stringify({ text: slackEscape(alert.text), ...alert.fields, event: alert.event });
    const delivery = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    })
      .then(async (response) => {
        await response.body?.cancel();
        if (!response.ok) throw new Error(`alert webhook answered ${response.status}`);
      })
      .catch((err: unknown) => this.options.log.error({ err, alert: alert.event }, 'alert delivery failed'))
      .finally(() => this.inflight.delete(delivery));
    this.inflight.add(delivery);
    return true;
  }

  /** Waits for deliveries in flight (close, tests). */
  async drain(): Promise<void> {
    await Promise.all(this.inflight);
  }
}
