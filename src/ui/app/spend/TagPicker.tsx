// The tag-combination picker: each chosen tag is required (all), one-of (any) or excluded (none). The
// combination filters every number on the page (it is sent with each /spend/query).
import { useState } from 'preact/hooks';
import type { TagFilter } from './spendApi.js';

type Mode = keyof TagFilter;
const MODES: { mode: Mode; label: string; help: string }[] = [
  { mode: 'all', label: 'all of', help: 'calls carrying every one of these tags' },
  { mode: 'any', label: 'any of', help: 'calls carrying at least one of these tags' },
  { mode: 'none', label: 'none of', help: 'calls carrying none of these tags' },
];

export const NO_TAGS: TagFilter = { all: [], any: [], none: [] };

export function TagPicker({
  value,
  known,
  onChange,
}: {
  value: TagFilter;
  known: string[];
  onChange: (next: TagFilter) => void;
}) {
  const [draft, setDraft] = useState('');
  const [mode, setMode] = useState<Mode>('all');
  const chosen = new Set([...value.all, ...value.any, ...value.none]);
  const add = (e: Event) => {
    e.preventDefault();
    const tag = draft.trim();
    if (!tag || chosen.has(tag)) return;
    onChange({ ...value, [mode]: [...value[mode], tag] });
    setDraft('');
  };
  const remove = (m: Mode, tag: string) => onChange({ ...value, [m]: value[m].filter((t) => t !== tag) });
  const active = chosen.size > 0;
  return (
    <section class="tagpicker" aria-label="Tag filter">
      <form onSubmit={add} class="tag-add">
        <label for="tag-mode">Tags</label>
        <select id="tag-mode" value={mode} onChange={(e) => setMode(e.currentTarget.value as Mode)}>
          {MODES.map((m) => (
            <option key={m.mode} value={m.mode} title={m.help}>
              {m.label}
            </option>
          ))}
        </select>
        <input
          list="known-tags"
          placeholder="add a tag…"
          aria-label="Tag to add"
          value={draft}
          onInput={(e) => setDraft(e.currentTarget.value)}
        />
        <datalist id="known-tags">
          {known
            .filter((t) => !chosen.has(t))
            .map((t) => (
              <option key={t} value={t} />
            ))}
        </datalist>
        <button type="submit" disabled={!draft.trim()}>
          Add
        </button>
        {active && (
          <button type="button" class="link" onClick={() => onChange({ all: [], any: [], none: [] })}>
            Clear
          </button>
        )}
      </form>
      {active && (
        <div class="chips">
          {MODES.filter((m) => value[m.mode].length).map((m) => (
            <span key={m.mode} class={`chipgroup ${m.mode}`}>
              <span class="chiplabel">{m.label}</span>
              {value[m.mode].map((tag) => (
                <span class="chip" key={tag}>
                  {tag}
                  <button type="button" aria-label={`Remove tag ${tag}`} onClick={() => remove(m.mode, tag)}>
                    ×
                  </button>
                </span>
              ))}
            </span>
          ))}
        </div>
      )}
    </section>
  );
}
