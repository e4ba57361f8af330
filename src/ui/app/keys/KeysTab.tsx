// The Keys tab: every virtual key with its owner, team, spend against budget, reset date, limits and last
// use; generate (secret shown once), edit limits, rotate with a grace period, block and delete.
import { useState } from 'preact/hooks';
import { Badge, Empty, ErrorBox, Loading, Progress, useAsync } from '../components.js';
import { ago, dateTime, num, text, usd } from '../format.js';
import { ConfirmDialog, EditLimitsDialog, GenerateKeyDialog, RotateDialog, SecretShown } from './KeyDialogs.js';
import { blockKey, deleteKey, type KeyInfo, lastUsed, listKeys } from './keyApi.js';

type Dialog =
  | { kind: 'generate' }
  | { kind: 'secret'; secret: string; title: string }
  | { kind: 'edit' | 'rotate' | 'block' | 'delete'; key: KeyInfo };

const nameOf = (k: KeyInfo) => k.key_alias || k.key_name || `${k.token.slice(0, 10)}…`;

function limitsText(k: KeyInfo): string {
  const parts = [
    k.rpm_limit != null ? `${num(k.rpm_limit)} rpm` : '',
    k.tpm_limit != null ? `${num(k.tpm_limit)} tpm` : '',
    k.max_parallel_requests != null ? `${num(k.max_parallel_requests)} parallel` : '',
  ].filter(Boolean);
  return parts.join(' · ') || '—';
}

function resetText(k: KeyInfo): string {
  if (k.budget_reset_at) return dateTime(k.budget_reset_at);
  if (k.budget_duration) return `every ${k.budget_duration}`;
  return k.max_budget != null ? 'never (lifetime budget)' : '—';
}

type Open = (dialog: Dialog) => void;

function KeyRow({ k, lastUse, open }: { k: KeyInfo; lastUse: string | null; open: Open }) {
  const spend = Number(k.spend ?? 0);
  return (
    <tr data-key-alias={k.key_alias ?? ''}>
      <td>
        <strong>{nameOf(k)}</strong> {k.blocked && <Badge kind="bad">blocked</Badge>}
        {k.expires && <div class="muted small">expires {dateTime(k.expires)}</div>}
      </td>
      <td>{text(k.user_id)}</td>
      <td>{text(k.team_id)}</td>
      <td class="spend-cell">
        <div class="small">
          {usd(spend)} {k.max_budget != null && <span class="muted">of {usd(k.max_budget)}</span>}
        </div>
        <Progress value={spend} max={k.max_budget ?? null} soft={k.soft_budget} />
      </td>
      <td class="hide-sm small">{resetText(k)}</td>
      <td class="hide-sm small">{limitsText(k)}</td>
      <td class="small" title={dateTime(lastUse)}>
        {ago(lastUse)}
      </td>
      <td class="row-actions">
        <button type="button" onClick={() => open({ kind: 'edit', key: k })}>
          Limits
        </button>
        <button type="button" onClick={() => open({ kind: 'rotate', key: k })}>
          Rotate
        </button>
        <button type="button" onClick={() => open({ kind: 'block', key: k })}>
          {k.blocked ? 'Unblock' : 'Block'}
        </button>
        <button type="button" class="danger" onClick={() => open({ kind: 'delete', key: k })}>
          Delete
        </button>
      </td>
    </tr>
  );
}

function KeysTable({ keys, lastUse, open }: { keys: KeyInfo[]; lastUse: (k: KeyInfo) => string | null; open: Open }) {
  return (
    <div class="table-wrap card">
      <table class="keys">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Owner</th>
            <th scope="col">Team</th>
            <th scope="col">Spend / budget</th>
            <th scope="col" class="hide-sm">
              Resets
            </th>
            <th scope="col" class="hide-sm">
              Limits
            </th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <KeyRow key={k.token} k={k} lastUse={lastUse(k)} open={open} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The open dialog, if any: `close` dismisses it, `done` also reloads the keys, `reload` reloads only. */
function KeyDialog({
  dialog,
  open,
  close,
  done,
  reload,
}: {
  dialog: Dialog;
  open: Open;
  close: () => void;
  done: () => void;
  reload: () => void;
}) {
  switch (dialog.kind) {
    case 'generate':
      return (
        <GenerateKeyDialog
          onClose={close}
          onCreated={(secret) => {
            reload();
            open({ kind: 'secret', secret, title: 'Your new key' });
          }}
        />
      );
    case 'secret':
      return <SecretShown secret={dialog.secret} title={dialog.title} onClose={close} />;
    case 'edit':
      return <EditLimitsDialog keyInfo={dialog.key} onClose={close} onSaved={done} />;
    case 'rotate':
      return (
        <RotateDialog
          keyInfo={dialog.key}
          onClose={close}
          onRotated={(secret) => {
            reload();
            open({ kind: 'secret', secret, title: 'Rotated: the new secret' });
          }}
        />
      );
    case 'block':
      return (
        <ConfirmDialog
          title={`${dialog.key.blocked ? 'Unblock' : 'Block'} ${nameOf(dialog.key)}`}
          message={
            dialog.key.blocked
              ? 'Calls with this key will be accepted again.'
              : 'Calls with this key will be refused until it is unblocked.'
          }
          confirm={dialog.key.blocked ? 'Unblock' : 'Block'}
          danger={!dialog.key.blocked}
          onClose={close}
          onConfirm={async () => {
            await blockKey(dialog.key.token, !dialog.key.blocked);
            done();
          }}
        />
      );
    case 'delete':
      return (
        <ConfirmDialog
          title={`Delete ${nameOf(dialog.key)}`}
          message="The key stops working at once. Its past spend stays in the warehouse."
          confirm="Delete key"
          danger
          onClose={close}
          onConfirm={async () => {
            await deleteKey(dialog.key.token);
            done();
          }}
        />
      );
  }
}

export function KeysTab() {
  const [keys, reload] = useAsync((signal) => listKeys(signal), []);
  const [used] = useAsync(
    (signal) => lastUsed(signal).catch(() => ({}) as Record<string, string>),
    [keys.status === 'ok' ? keys.data : null],
  );
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [filter, setFilter] = useState('');
  const close = () => setDialog(null);
  const done = () => {
    setDialog(null);
    reload();
  };
  const lastUse = (k: KeyInfo) =>
    k.last_used_at ?? k.last_active ?? (used.status === 'ok' ? used.data[k.token] : undefined) ?? null;

  const shown =
    keys.status === 'ok'
      ? keys.data.keys.filter((k) => {
          const q = filter.trim().toLowerCase();
          return !q || [k.key_alias, k.key_name, k.user_id, k.team_id].some((v) => v?.toLowerCase().includes(q));
        })
      : [];

  return (
    <div>
      <div class="toolbar">
        <input
          type="search"
          placeholder="Filter by alias, owner or team"
          aria-label="Filter keys"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
        />
        <button type="button" class="primary" onClick={() => setDialog({ kind: 'generate' })}>
          + Generate key
        </button>
      </div>
      {keys.status === 'loading' && <Loading />}
      {keys.status === 'error' && <ErrorBox error={keys.error} onRetry={reload} />}
      {keys.status === 'ok' && shown.length === 0 && (
        <Empty>{keys.data.keys.length ? 'No key matches the filter.' : 'No keys yet. Generate one to start.'}</Empty>
      )}
      {keys.status === 'ok' && keys.data.total > keys.data.keys.length && (
        <p class="muted small">
          Showing the first {num(keys.data.keys.length)} of {num(keys.data.total)} keys.
        </p>
      )}
      {shown.length > 0 && <KeysTable keys={shown} lastUse={lastUse} open={setDialog} />}
      {dialog && <KeyDialog dialog={dialog} open={setDialog} close={close} done={done} reload={reload} />}
    </div>
  );
}
