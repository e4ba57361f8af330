// Number, money and time formatting. Money arrives as exact decimal USD strings from the APIs; it is only
// rounded here, for display.

export function usd(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) return String(value);
  if (n === 0) return '$0.00';
  const abs = Math.abs(n);
  // Cents for dollars, then enough significant digits that a $0.0000069 call does not read as $0.00.
  const shown =
    abs >= 0.01
      ? abs.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: abs >= 1 ? 2 : 4 })
      : abs.toLocaleString('en-US', { maximumSignificantDigits: 3, maximumFractionDigits: 9 });
  return `${n < 0 ? '-' : ''}$${shown}`;
}

export function num(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  const n = Number(value);
  return Number.isFinite(n) ? n.toLocaleString('en-US') : String(value);
}

export function compact(value: number): string {
  return Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }).format(value);
}

export function pct(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${(value * 100).toFixed(digits)}%`;
}

export function dateTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleString('en-GB', {
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function ago(value: string | number | null | undefined, now = Date.now()): string {
  if (value === null || value === undefined || value === '') return 'never';
  const ms = now - new Date(value).getTime();
  if (!Number.isFinite(ms)) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${Math.max(s, 0)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

/** A string or null shown as text; null and '' become an em dash. */
export const text = (value: unknown) => (value === null || value === undefined || value === '' ? '—' : String(value));
