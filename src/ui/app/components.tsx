// Small building blocks shared by the tabs: async state, loading/empty/error states, progress bars,
// badges, names with their ids and an accessible modal dialog.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/** `stale` marks data kept on screen while a newer answer is on its way (no flash of spinners). */
export type Async<T> =
  | { status: 'loading' }
  | { status: 'error'; error: Error }
  | { status: 'ok'; data: T; stale?: boolean };

/** Runs `load` whenever `deps` change (aborting the previous run); `reload()` runs it again. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): [Async<T>, () => void] {
  const [state, setState] = useState<Async<T>>({ status: 'loading' });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setState((prev) => (prev.status === 'ok' ? { ...prev, stale: true } : { status: 'loading' }));
    load(controller.signal).then(
      (data) => !controller.signal.aborted && setState({ status: 'ok', data }),
      (error: Error) => !controller.signal.aborted && setState({ status: 'error', error }),
    );
    return () => controller.abort();
  }, [...deps, tick]);
  return [state, () => setTick((t) => t + 1)];
}

/**
 * True once the element has come within `margin` of the viewport (and stays true): blocks below the fold
 * ask the server for their data only when someone scrolls to them.
 */
export function useSeen(ref: { current: Element | null }, margin = '200px'): boolean {
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (seen || !el) return;
    if (typeof IntersectionObserver === 'undefined') {
      setSeen(true);
      return;
    }
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && setSeen(true), {
      rootMargin: margin,
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref, seen, margin]);
  return seen;
}

/** Class for a block whose data is being refreshed: dimmed, and announced as busy. */
export const staleClass = (state: Async<unknown>) => (state.status === 'ok' && state.stale ? 'stale' : '');

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div class="state" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

export function ErrorBox({ error, onRetry }: { error: Error | string; onRetry?: () => void }) {
  return (
    <div class="state error" role="alert">
      <strong>Error:</strong> {typeof error === 'string' ? error : error.message}
      {onRetry && (
        <button type="button" class="link" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="state empty">{children}</div>;
}

/** Renders an Async value: spinner, error with retry, or the content. */
export function Show<T>({
  value,
  retry,
  children,
}: {
  value: Async<T>;
  retry?: () => void;
  children: (data: T) => ComponentChildren;
}) {
  if (value.status === 'loading') return <Loading />;
  if (value.status === 'error') return <ErrorBox error={value.error} onRetry={retry} />;
  return <>{children(value.data)}</>;
}

/** Spend against a limit: green, amber past the soft limit (or 80%), red at the hard limit. */
export function Progress({ value, max, soft }: { value: number; max: number | null; soft?: number | null }) {
  if (!max || max <= 0) return <div class="muted small">no budget</div>;
  const share = Math.min(value / max, 1);
  const level = value >= max ? 'over' : (soft && value >= soft) || share >= 0.8 ? 'warn' : 'ok';
  return (
    <div class={`progress ${level}`} role="progressbar" aria-valuemin={0} aria-valuemax={max} aria-valuenow={value}>
      <div style={{ width: `${(share * 100).toFixed(1)}%` }} />
    </div>
  );
}

/** A relative bar for breakdown tables (share of the largest row). */
export function Bar({ share }: { share: number }) {
  return (
    <div class="bar" aria-hidden="true">
      <div style={{ width: `${Math.max(0, Math.min(1, share)) * 100}%` }} />
    </div>
  );
}

export function Badge({ kind, children }: { kind: string; children: ComponentChildren }) {
  return <span class={`badge ${kind}`}>{children}</span>;
}

export function Modal({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    ref.current?.querySelector<HTMLElement>('input, select, textarea, button')?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      previous?.focus();
    };
  }, [onClose]);
  return (
    <div class="overlay">
      <div class="modal" role="dialog" aria-modal="true" aria-label={title} ref={ref}>
        <header>
          <h2>{title}</h2>
          <button type="button" class="icon" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        {children}
      </div>
    </div>
  );
}

export function CopyButton({ value, label = 'Copy' }: { value: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(value);
        } catch {
          // Clipboard API needs a secure context; fall back to a selection the user can copy.
          const area = document.createElement('textarea');
          area.value = value;
          document.body.append(area);
          area.select();
          document.execCommand('copy');
          area.remove();
        }
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      }}
    >
      {copied ? 'Copied ✓' : label}
    </button>
  );
}

/** An id shown by its name (alias), the id itself in the tooltip; the id (or `fallback`) when it has no name. */
export function Named({
  name,
  id,
  fallback,
}: {
  name: string | null;
  id: string | null | undefined;
  fallback?: string;
}) {
  if (!id) return <>—</>;
  return <span title={id}>{name ?? fallback ?? id}</span>;
}
