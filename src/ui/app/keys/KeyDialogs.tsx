// Dialogs of the Keys tab: generate, edit limits, rotate (the new secret shown once) and confirm.
import { useState } from 'preact/hooks';
import { CopyButton, Modal } from '../components.js';
import {
  EMPTY_LIMITS,
  generateKey,
  type KeyInfo,
  limitsBody,
  limitsFormOf,
  regenerateKey,
  splitList,
  updateKey,
} from './keyApi.js';
import { LimitsFields } from './LimitsFields.js';

/** Runs an action, keeping its error on screen (never swallowed) and the button disabled while busy. */
function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

function FormError({ error }: { error: string | null }) {
  return error ? (
    <p class="form-error" role="alert">
      {error}
    </p>
  ) : null;
}

export function SecretShown({ secret, title, onClose }: { secret: string; title: string; onClose: () => void }) {
  return (
    <Modal title={title} onClose={onClose}>
      <p>Copy this key now: it is shown only once. Spendhouse stores only its hash.</p>
      <div class="secret">
        <code data-testid="new-secret">{secret}</code>
        <CopyButton value={secret} />
      </div>
      <div class="actions">
        <button type="button" class="primary" onClick={onClose}>
          Done
        </button>
      </div>
    </Modal>
  );
}

export function GenerateKeyDialog({
  onClose,
  onCreated,
}: {
  onClose: () => void;
  onCreated: (secret: string) => void;
}) {
  const [alias, setAlias] = useState('');
  const [userId, setUserId] = useState('');
  const [teamId, setTeamId] = useState('');
  const [models, setModels] = useState('');
  const [tags, setTags] = useState('');
  const [limits, setLimits] = useState(EMPTY_LIMITS);
  const { busy, error, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const body: Record<string, unknown> = { ...limitsBody(limits) };
      for (const [k, v] of Object.entries(body)) if (v === null) delete body[k];
      if (alias.trim()) body.key_alias = alias.trim();
      if (userId.trim()) body.user_id = userId.trim();
      if (teamId.trim()) body.team_id = teamId.trim();
      if (models.trim()) body.models = splitList(models);
      if (tags.trim()) body.tags = splitList(tags);
      const created = await generateKey(body);
      onCreated(created.key);
    });
  };
  return (
    <Modal title="Generate a key" onClose={onClose}>
      <form onSubmit={submit}>
        <div class="grid2">
          <label>
            Alias
            <input name="key_alias" value={alias} onInput={(e) => setAlias(e.currentTarget.value)} />
          </label>
          <label>
            Team id
            <input name="team_id" value={teamId} onInput={(e) => setTeamId(e.currentTarget.value)} />
          </label>
          <label>
            Owner (user id)
            <input name="user_id" value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
          </label>
          <label>
            Models (comma separated, empty = all)
            <input name="models" value={models} onInput={(e) => setModels(e.currentTarget.value)} />
          </label>
          <label>
            Default tags (comma separated)
            <input name="tags" value={tags} onInput={(e) => setTags(e.currentTarget.value)} />
          </label>
        </div>
        <LimitsFields value={limits} onChange={setLimits} />
        <FormError error={error} />
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Generating…' : 'Generate key'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function EditLimitsDialog({
  keyInfo,
  onClose,
  onSaved,
}: {
  keyInfo: KeyInfo;
  onClose: () => void;
  onSaved: () => void;
}) {
  const [limits, setLimits] = useState(limitsFormOf(keyInfo));
  const { busy, error, run } = useAction();
  return (
    <Modal title={`Limits of ${keyInfo.key_alias ?? keyInfo.key_name ?? 'key'}`} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await updateKey(keyInfo.token, limitsBody(limits));
            onSaved();
          });
        }}
      >
        <LimitsFields value={limits} onChange={setLimits} />
        <FormError error={error} />
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

export function RotateDialog({
  keyInfo,
  onClose,
  onRotated,
}: {
  keyInfo: KeyInfo;
  onClose: () => void;
  onRotated: (secret: string) => void;
}) {
  const [grace, setGrace] = useState('');
  const { busy, error, run } = useAction();
  return (
    <Modal title={`Rotate ${keyInfo.key_alias ?? keyInfo.key_name ?? 'key'}`} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => onRotated((await regenerateKey(keyInfo.token, grace.trim())).key));
        }}
      >
        <p>A new secret replaces this one. Spend, budgets and limits stay with the key.</p>
        <label>
          Grace period for the old secret
          <input
            name="grace_period"
            placeholder="none: the old secret stops now (e.g. 1h, 1d)"
            value={grace}
            onInput={(e) => setGrace(e.currentTarget.value)}
          />
        </label>
        <FormError error={error} />
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Rotate
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function ConfirmDialog({
  title,
  message,
  confirm,
  danger,
  onClose,
  onConfirm,
}: {
  title: string;
  message: string;
  confirm: string;
  danger?: boolean;
  onClose: () => void;
  onConfirm: () => Promise<void>;
}) {
  const { busy, error, run } = useAction();
  return (
    <Modal title={title} onClose={onClose}>
      <p>{message}</p>
      <FormError error={error} />
      <div class="actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" class={danger ? 'danger' : 'primary'} disabled={busy} onClick={() => void run(onConfirm)}>
          {confirm}
        </button>
      </div>
    </Modal>
  );
}
