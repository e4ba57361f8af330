// One call: attribution, tokens, cost and how it was priced, timings, and the prompt/response when prompts
// are stored, with the raw-log retention period so nobody looks for a call that has aged out. A re-pricing
// correction is marked as such, with a link to the call it corrects.
import { useState } from 'preact/hooks';
import type { SessionInfo } from '../api.js';
import { Badge, Modal, Show, useAsync } from '../components.js';
import { dateTime, ms, num, text, usd } from '../format.js';
import { type NameBook, nameOf } from '../names.js';
import { fetchLog, keyLabel, type LogDetail, type LogEntry } from './logsApi.js';

function Rows({ rows }: { rows: [string, unknown][] }) {
  return (
    <dl class="kv">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v as string}</dd>
        </div>
      ))}
    </dl>
  );
}

const isEmptyPayload = (v: unknown) =>
  v === null || v === undefined || v === '' || (typeof v === 'object' && Object.keys(v as object).length === 0);

function Payload({ title, value, stored }: { title: string; value: unknown; stored: boolean }) {
  return (
    <section>
      <h4>{title}</h4>
      {isEmptyPayload(value) ? (
        <p class="muted small">
          {stored
            ? 'Not stored for this call.'
            : 'Prompts and responses are not stored (store_prompts_in_spend_logs is off).'}
        </p>
      ) : (
        <pre class="payload">{typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre>
      )}
    </section>
  );
}

/** Keys the logs endpoint adds to `metadata` for LiteLLM's shape; they are shown as attribution already. */
const DERIVED_METADATA = new Set([
  'user_api_key',
  'user_api_key_alias',
  'user_api_key_team_id',
  'user_api_key_user_id',
  'status',
  'error_type',
  'cost_status',
]);

/** `alias · id`, or the id alone when it has no name. */
const withId = (name: string | null, id: string | null | undefined) => (name && id ? `${name} · ${id}` : text(id));

/** Where the price came from (docs/spend-record.md `price_source`). */
const PRICE_SOURCES: Record<string, string> = {
  catalog: 'model catalog (genai-prices)',
  config: 'price book (config)',
  provider: 'cost reported by the provider',
  caller: 'cost sent by the ingest caller',
  none: 'unpriced',
  '': 'not recorded (call predates price provenance)',
};

/** Token rows beyond prompt/completion/total, each shown only when the call had some. */
function usageRows(log: LogEntry): [string, string][] {
  const rows: [string, number][] = [
    ['  of which cache writes', log.cache_write_tokens],
    ['    with a 1-hour TTL', log.cache_write_1h_tokens],
    ['  of which audio in', log.audio_input_tokens],
    ['  of which images in', log.image_input_tokens],
  ];
  return rows.filter(([, n]) => n > 0).map(([k, n]) => [k, num(n)]);
}

function outputRows(log: LogEntry): [string, string][] {
  const rows: [string, number][] = [
    ['  of which audio out', log.audio_output_tokens],
    ['  of which images out', log.image_output_tokens],
  ];
  return rows.filter(([, n]) => n > 0).map(([k, n]) => [k, num(n)]);
}

/** The prices applied and where they came from: enough to recompute the cost by hand. */
function Pricing({ log }: { log: LogEntry }) {
  const { multiplier, ...perUnit } = log.unit_prices;
  const exact = (usdText: string) => `${usd(usdText)} (exact ${usdText} USD)`;
  return (
    <section>
      <h4>Pricing</h4>
      <Rows
        rows={[
          ['Priced by', PRICE_SOURCES[log.price_source] ?? log.price_source],
          ['Price version', text(log.price_version)],
          ['Service tier', text(log.service_tier)],
          ['Billed cost', exact(log.cost_usd)],
          ['List cost', exact(log.list_cost_usd)],
          ['Provider-reported cost', log.provider_cost_usd === null ? '—' : exact(log.provider_cost_usd)],
          ['Multiplier', text(multiplier)],
          ...Object.entries(perUnit).map(([dimension, price]): [string, string] => [
            `  ${dimension.replaceAll('_', ' ')}`,
            `${price} USD per ${dimension === 'request' ? 'request' : dimension === 'web_search' ? 'search' : 'token'}`,
          ]),
        ]}
      />
    </section>
  );
}

function Detail({
  log,
  session,
  names,
  onOpen,
}: {
  log: LogEntry;
  session: SessionInfo;
  names: NameBook;
  onOpen: (requestId: string) => void;
}) {
  const metadata = Object.entries(log.metadata).filter(([k]) => !DERIVED_METADATA.has(k));
  const ttft = log.completionStartTime ? Date.parse(log.completionStartTime) - Date.parse(log.startTime) : null;
  const corrected = log.source === 'correction' ? log.corrects_request_id : null;
  return (
    <div class="log-detail">
      <div class="detail-head">
        {corrected !== null ? (
          <Badge kind="warn">correction</Badge>
        ) : (
          <Badge kind={log.status_code < 400 ? 'good' : 'bad'}>{log.status_code}</Badge>
        )}{' '}
        <strong>{log.model}</strong> <span class="muted small">{log.request_id}</span>
      </div>
      {corrected !== null && (
        <p class="small">
          A re-pricing correction, not a call: its cost is the signed change to the cost of{' '}
          <button type="button" class="link" onClick={() => onOpen(corrected)}>
            {corrected}
          </button>{' '}
          under the current price book.
        </p>
      )}
      <div class="grid2">
        <section>
          <h4>Attribution</h4>
          <Rows
            rows={[
              ['Key', withId(keyLabel(log, names), log.api_key ? `${log.api_key.slice(0, 12)}…` : null)],
              ['Team', withId(nameOf(names, 'team', log.team_id), log.team_id)],
              ['User', withId(nameOf(names, 'user', log.user), log.user)],
              ['Customer', withId(nameOf(names, 'customer', log.customer_id), log.customer_id)],
              ['Tags', log.request_tags.length ? log.request_tags.join(', ') : '—'],
              ['Provider / upstream', `${log.custom_llm_provider} · ${log.upstream_model}`],
              ['Response id', text(log.response_id)],
              ['Source', `${log.source}${log.stream ? ' · stream' : ''}`],
            ]}
          />
        </section>
        <section>
          <h4>Cost and tokens</h4>
          <Rows
            rows={[
              ['Cost', `${usd(log.cost_usd)} (exact ${log.cost_usd} USD)`],
              ['Cost status', log.cost_status],
              ['Prompt tokens', num(log.prompt_tokens)],
              ['  of which cached', num(log.cached_tokens)],
              ...usageRows(log),
              ['Completion tokens', num(log.completion_tokens)],
              ['  of which reasoning', num(log.reasoning_tokens)],
              ...outputRows(log),
              ['Total tokens', num(log.total_tokens)],
              ...(log.web_search_requests > 0
                ? [['Web searches', num(log.web_search_requests)] as [string, string]]
                : []),
            ]}
          />
          <h4>Timings</h4>
          <Rows
            rows={[
              ['Started', dateTime(log.startTime)],
              ['Ended', dateTime(log.endTime)],
              ['Duration', ms(log.request_duration_ms)],
              ['Time to first token', ms(ttft)],
            ]}
          />
        </section>
      </div>
      <Pricing log={log} />
      <section>
        <h4>Metadata</h4>
        {metadata.length ? <Rows rows={metadata} /> : <p class="muted small">No metadata was sent with this call.</p>}
      </section>
      <Payload title="Prompt" value={log.messages} stored={session.storePrompts} />
      <Payload title="Response" value={log.response} stored={session.storePrompts} />
    </div>
  );
}

/** The re-pricing corrections of a call (docs/repricing.md): each opens in the dialog. */
function Corrections({ call, onOpen }: { call: LogDetail; onOpen: (requestId: string) => void }) {
  if (call.corrections.length === 0) return null;
  return (
    <section class="log-detail">
      <h4>Re-pricing corrections</h4>
      <dl class="kv">
        {call.corrections.map((c) => (
          <div key={c.request_id}>
            <dt>
              <button type="button" class="link" onClick={() => onOpen(c.request_id)}>
                {c.request_id}
              </button>
            </dt>
            <dd>
              {c.cost_usd.startsWith('-') ? '' : '+'}
              {c.cost_usd} USD · {text(c.price_version)}
            </dd>
          </div>
        ))}
        <div>
          <dt>Cost after corrections</dt>
          <dd>
            {usd(call.cost_after_corrections_usd)} (exact {call.cost_after_corrections_usd} USD)
          </dd>
        </div>
      </dl>
    </section>
  );
}

export function LogDetailDialog({
  requestId,
  session,
  names,
  onClose,
}: {
  requestId: string;
  session: SessionInfo;
  /** Names of the page the call was opened from. */
  names: NameBook;
  onClose: () => void;
}) {
  // A correction links to the call it corrects: the dialog then shows that call.
  const [shown, setShown] = useState(requestId);
  const [log, reload] = useAsync((signal) => fetchLog(shown, signal), [shown]);
  return (
    <Modal title="Call detail" onClose={onClose}>
      <Show value={log} retry={reload}>
        {(data) => (
          <>
            <Detail log={data} session={session} names={names} onOpen={setShown} />
            <Corrections call={data} onOpen={setShown} />
          </>
        )}
      </Show>
    </Modal>
  );
}
