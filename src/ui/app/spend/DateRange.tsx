// Date presets and a custom range. Relative presets (-24h, -7d) are resolved by the server, which rounds
// them to whole hours so they are answered from the hourly rollup.
import { useState } from 'preact/hooks';
import type { Granularity, Window } from './spendApi.js';

interface Preset {
  id: string;
  label: string;
  window: () => Window;
}

const startOfMonth = () => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-01`;
};

export const PRESETS: Preset[] = [
  { id: '24h', label: 'Last 24 h', window: () => ({ from: '-24h', to: 'now', granularity: 'hour' }) },
  { id: '7d', label: '7 days', window: () => ({ from: '-7d', to: 'now', granularity: 'day' }) },
  { id: '30d', label: '30 days', window: () => ({ from: '-30d', to: 'now', granularity: 'day' }) },
  { id: '90d', label: '90 days', window: () => ({ from: '-90d', to: 'now', granularity: 'week' }) },
  { id: 'month', label: 'This month', window: () => ({ from: startOfMonth(), to: 'now', granularity: 'day' }) },
];

const DAY_MS = 86_400_000;
function customWindow(from: string, to: string): Window {
  // `to` is a date: the whole day is included, so the window ends at the next midnight.
  const end = new Date(Date.parse(`${to}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
  const days = (Date.parse(end) - Date.parse(from)) / DAY_MS;
  const granularity: Granularity = days <= 3 ? 'hour' : days <= 120 ? 'day' : 'week';
  return { from, to: end, granularity };
}

export function DateRange({ value, onChange }: { value: string; onChange: (id: string, window: Window) => void }) {
  const today = new Date().toISOString().slice(0, 10);
  const [from, setFrom] = useState(new Date(Date.now() - 7 * DAY_MS).toISOString().slice(0, 10));
  const [to, setTo] = useState(today);
  const valid = from && to && from <= to;
  return (
    <div class="daterange">
      <fieldset class="segmented">
        <legend class="sr-only">Date range</legend>
        {PRESETS.map((p) => (
          <button type="button" key={p.id} aria-pressed={value === p.id} onClick={() => onChange(p.id, p.window())}>
            {p.label}
          </button>
        ))}
      </fieldset>
      <form
        class="custom-range"
        onSubmit={(e) => {
          e.preventDefault();
          if (valid) onChange('custom', customWindow(from, to));
        }}
      >
        <label>
          From <input type="date" value={from} max={to} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label>
          To <input type="date" value={to} min={from} onInput={(e) => setTo(e.currentTarget.value)} />
        </label>
        <button type="submit" aria-pressed={value === 'custom'} disabled={!valid}>
          Apply
        </button>
      </form>
    </div>
  );
}
