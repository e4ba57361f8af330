// One call: attribution, tokens, cost, timings, and the prompt/response when prompts are stored, with the
// raw-log retention period so nobody looks for a call that has aged out.
import type { SessionInfo } from '../api.js';
import { Badge, Modal, Show, useAsync } from '../components.js';
import { dateTime, ms, num, text, usd } from '../format.js';
import { type NameBook, nameOf } from '../names.js';
import { fetchLog, keyLabel, type LogEntry } from './logsApi.js';

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

function Detail({ log, session, names }: { log: LogEntry; session: SessionInfo; names: NameBook }) {
  const metadata = Object.entries(log.metadata).filter(([k]) => !DERIVED_METADATA.has(k));
  const ttft = log.completionStartTime ? Date.parse(log.completionStartTime) - Date.parse(log.startTime) : null;
  return (
    <div class="log-detail">
      <div class="detail-head">
        <Badge kind={log.status_code < 400 ? 'good' : 'bad'}>{log.status_code}</Badge> <strong>{log.model}</strong>{' '}
        <span class="muted small">{log.request_id}</span>
      </div>
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
              ['Completion tokens', num(log.completion_tokens)],
              ['  of which reasoning', num(log.reasoning_tokens)],
              ['Total tokens', num(log.total_tokens)],
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
      <section>
        <h4>Metadata</h4>
        {metadata.length ? <Rows rows={metadata} /> : <p class="muted small">No metadata was sent with this call.</p>}
      </section>
      <Payload title="Prompt" value={log.messages} stored={session.storePrompts} />
      <Payload title="Response" value={log.response} stored={session.storePrompts} />
    </div>
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
  const [log, reload] = useAsync((signal) => fetchLog(requestId, signal), [requestId]);
  return (
    <Modal title="Call detail" onClose={onClose}>
      <Show value={log} retry={reload}>
        {(data) => <Detail log={data} session={session} names={names} />}
      </Show>
    </Modal>
  );
}
