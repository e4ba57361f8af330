// The Models tab: each configured model with its provider, price per 1M tokens, recent success rate, last
// error, latency percentiles, RPM/TPM in the last minute against its limits, and a health badge (provider
// failures only; refusals are counted apart).
import type { ModelHealth } from '../../server/modelHealth.js';
import { get } from '../api.js';
import { Badge, Empty, Show, useAsync } from '../components.js';
import { ago, compact, ms, num, pct } from '../format.js';

const HEALTH_KIND = { healthy: 'good', degraded: 'warn', down: 'bad', idle: 'neutral' } as const;

function UsageVsLimit({ used, limit, unit }: { used: number; limit: number | null; unit: string }) {
  const share = limit ? used / limit : 0;
  return (
    <div class="usage">
      <span>
        {compact(used)}
        {limit ? ` / ${compact(limit)}` : ''} {unit}
      </span>
      {limit ? (
        <div class={`progress ${share >= 1 ? 'over' : share >= 0.8 ? 'warn' : 'ok'}`} aria-hidden="true">
          <div style={{ width: `${Math.min(share, 1) * 100}%` }} />
        </div>
      ) : null}
    </div>
  );
}

function ModelRow({ m }: { m: ModelHealth }) {
  return (
    <tr>
      <td>
        <strong>{m.model_name}</strong>
        <div class="muted small">
          {m.provider} · {m.upstream_model}
        </div>
      </td>
      <td>
        <Badge kind={HEALTH_KIND[m.health]}>{m.health}</Badge>
        <div class="muted small">
          {m.requests
            ? `${num(m.requests)} calls${m.refused ? ` (${num(m.refused)} refused)` : ''}, last ${ago(m.last_call_at)}`
            : 'no calls'}
        </div>
      </td>
      <td class="num">
        {m.price_source === 'unpriced' ? (
          <Badge kind="warn">unpriced</Badge>
        ) : (
          <>
            ${m.input_per_1m_usd} · ${m.output_per_1m_usd}
            <div class="muted small">{m.price_source === 'config' ? 'from config' : 'catalog price'}</div>
          </>
        )}
      </td>
      <td class="num">{pct(m.success_rate)}</td>
      <td class="num hide-sm">
        {ms(m.p50_latency_ms)} · {ms(m.p95_latency_ms)}
      </td>
      <td>
        <UsageVsLimit used={m.rpm} limit={m.rpm_limit} unit="req" />
      </td>
      <td>
        <UsageVsLimit used={m.tpm} limit={m.tpm_limit} unit="tok" />
      </td>
      <td class="hide-sm small">
        {m.last_error ? (
          <>
            <span class="bad-text">
              {m.last_error.status} {m.last_error.error_type}
            </span>
            <div class="muted">{ago(m.last_error.at)}</div>
          </>
        ) : (
          '—'
        )}
      </td>
    </tr>
  );
}

function ModelsTable({ models }: { models: ModelHealth[] }) {
  return (
    <div class="table-wrap card">
      <table class="models">
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Health</th>
            <th scope="col" class="num">
              $ / 1M in · out
            </th>
            <th scope="col" class="num">
              Success
            </th>
            <th scope="col" class="num hide-sm">
              p50 · p95
            </th>
            <th scope="col">RPM</th>
            <th scope="col">TPM</th>
            <th scope="col" class="hide-sm">
              Last error
            </th>
          </tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <ModelRow key={`${m.model_name}:${m.upstream_model}`} m={m} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ModelsTab() {
  const [models, reload] = useAsync((signal) => get<{ data: ModelHealth[] }>('/ui/api/models', signal), []);
  return (
    <Show value={models} retry={reload}>
      {({ data }) =>
        data.length === 0 ? (
          <Empty>No models configured (model_list is empty).</Empty>
        ) : (
          <div>
            <div class="toolbar">
              <p class="muted small">
                Success rate, latency and last error over the last {data[0]?.window_minutes ?? 60} minutes; RPM/TPM over
                the last minute. Health counts provider failures only: calls refused by a budget, rate limit, key or
                policy are shown as refused, not as errors.
              </p>
              <button type="button" onClick={reload}>
                Refresh
              </button>
            </div>
            <ModelsTable models={data} />
          </div>
        )
      }
    </Show>
  );
}
