// The Budgets tab: teams, users, customers, tags and budget tiers with their budgets, soft budgets,
// periods and current spend; create and edit them; the members of a team.
import { useState } from 'preact/hooks';
import { Badge, Empty, ErrorBox, Loading, Modal, Progress, useAsync } from '../components.js';
import { dateTime, num, text, usd } from '../format.js';
import { EMPTY_LIMITS, limitsBody, limitsFormOf } from '../keys/keyApi.js';
import { LimitsFields } from '../keys/LimitsFields.js';
import {
  type BudgetForecast,
  type BudgetKind,
  budgetForecasts,
  type Entity,
  KINDS,
  listEntities,
  saveEntity,
} from './budgetKinds.js';
import { TeamMembersDialog } from './TeamMembers.js';

function EntityDialog({
  kind,
  entity,
  onClose,
  onSaved,
}: {
  kind: BudgetKind;
  entity: Entity | null;
  onClose: () => void;
  onSaved: () => void;
}) {
  const [id, setId] = useState(entity ? String(entity[kind.idField] ?? '') : '');
  const [name, setName] = useState(entity && kind.nameField ? String(entity[kind.nameField] ?? '') : '');
  const [limits, setLimits] = useState(entity ? limitsFormOf(entity) : EMPTY_LIMITS);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = { ...limitsBody(limits) };
      if (!entity) for (const [k, v] of Object.entries(body)) if (v === null) delete body[k];
      if (id.trim()) body[kind.idField] = id.trim();
      if (kind.nameField && name.trim()) body[kind.nameField] = name.trim();
      await saveEntity(kind, !entity, body);
      onSaved();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const singular = kind.title.replace(/s$/, '').toLowerCase();
  return (
    <Modal title={entity ? `Edit ${singular} ${id}` : `New ${singular}`} onClose={onClose}>
      <form onSubmit={submit}>
        <div class="grid2">
          <label>
            {kind.idField}
            <input
              name={kind.idField}
              value={id}
              disabled={!!entity}
              required={kind.id === 'tag' || kind.id === 'budget'}
              onInput={(e) => setId(e.currentTarget.value)}
            />
          </label>
          {kind.nameField && (
            <label>
              {kind.nameField}
              <input name={kind.nameField} value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </label>
          )}
        </div>
        <LimitsFields value={limits} onChange={setLimits} />
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}

function limitsText(entity: Entity): string {
  return (
    [
      entity.rpm_limit != null ? `${num(entity.rpm_limit as number)} rpm` : '',
      entity.tpm_limit != null ? `${num(entity.tpm_limit as number)} tpm` : '',
    ]
      .filter(Boolean)
      .join(' · ') || '—'
  );
}

function EntityRow({
  id,
  kind,
  entity,
  forecast,
  onEdit,
  onMembers,
}: {
  id: string;
  kind: BudgetKind;
  entity: Entity;
  forecast: BudgetForecast | undefined;
  onEdit: () => void;
  onMembers: () => void;
}) {
  const name = kind.nameField ? (entity[kind.nameField] as string | null | undefined) : null;
  const spend = Number(entity.spend ?? 0);
  return (
    <tr>
      <td>
        <strong>{name || id}</strong>
        {name && <div class="muted small">{id}</div>}
        {entity.blocked === true && <Badge kind="bad">blocked</Badge>}
      </td>
      <td class="spend-cell">
        <div class="small">
          {kind.id === 'budget' ? '' : usd(spend)}{' '}
          {entity.max_budget != null && <span class="muted">of {usd(entity.max_budget)}</span>}
        </div>
        {kind.id !== 'budget' && <Progress value={spend} max={entity.max_budget ?? null} soft={entity.soft_budget} />}
        {forecast && <ForecastLine forecast={forecast} />}
      </td>
      <td class="num hide-sm">{entity.soft_budget != null ? usd(entity.soft_budget) : '—'}</td>
      <td class="small">
        {text(entity.budget_duration)}
        {entity.budget_reset_at && <div class="muted">resets {dateTime(entity.budget_reset_at)}</div>}
      </td>
      <td class="hide-sm small">{limitsText(entity)}</td>
      <td class="row-actions">
        <button type="button" onClick={onEdit}>
          Edit
        </button>
        {kind.id === 'team' && (
          <button type="button" onClick={onMembers}>
            Members
          </button>
        )}
      </td>
    </tr>
  );
}

function KindSection({ kind }: { kind: BudgetKind }) {
  const [entities, reload] = useAsync((signal) => listEntities(kind, signal), [kind.id]);
  // Each budget shows where it is heading; a failed forecast read leaves the table as it is.
  const [forecasts] = useAsync(
    (signal) => budgetForecasts(kind, signal).catch(() => new Map<string, BudgetForecast>()),
    [kind.id],
  );
  const [editing, setEditing] = useState<{ entity: Entity | null } | null>(null);
  const [members, setMembers] = useState<string | null>(null);
  return (
    <section class="card" aria-labelledby={`budgets-${kind.id}`}>
      <header class="card-head">
        <h3 id={`budgets-${kind.id}`}>{kind.title}</h3>
        <button type="button" onClick={() => setEditing({ entity: null })}>
          + New
        </button>
      </header>
      {entities.status === 'loading' && <Loading />}
      {entities.status === 'error' && <ErrorBox error={entities.error} onRetry={reload} />}
      {entities.status === 'ok' && entities.data.length === 0 && <Empty>None yet.</Empty>}
      {entities.status === 'ok' && entities.data.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{kind.id === 'budget' ? 'Tier' : 'Name'}</th>
                <th scope="col">Spend / budget</th>
                <th scope="col" class="num hide-sm">
                  Soft budget
                </th>
                <th scope="col">Period</th>
                <th scope="col" class="hide-sm">
                  Limits
                </th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {entities.data.map((entity) => {
                const id = String(entity[kind.idField] ?? '');
                return (
                  <EntityRow
                    key={id}
                    id={id}
                    kind={kind}
                    entity={entity}
                    forecast={forecasts.status === 'ok' ? forecasts.data.get(id) : undefined}
                    onEdit={() => setEditing({ entity })}
                    onMembers={() => setMembers(id)}
                  />
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {editing && (
        <EntityDialog
          kind={kind}
          entity={editing.entity}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            reload();
          }}
        />
      )}
      {members && <TeamMembersDialog teamId={members} onClose={() => setMembers(null)} />}
    </section>
  );
}

function ForecastLine({ forecast }: { forecast: BudgetForecast }) {
  return (
    <div class={`small ${forecast.exceeds_budget ? 'warn-text' : 'muted'}`} title={`forecast: ${forecast.method}`}>
      {forecast.period_end_spend_usd !== null && <>projected {usd(forecast.period_end_spend_usd)} by period end</>}
      {forecast.runs_out_at && <> · runs out {dateTime(forecast.runs_out_at)}</>}
    </div>
  );
}

export function BudgetsTab() {
  return (
    <div class="budgets">
      {KINDS.map((kind) => (
        <KindSection key={kind.id} kind={kind} />
      ))}
    </div>
  );
}
