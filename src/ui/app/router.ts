// A path router small enough to read: /ui/<tab>, history.pushState, back/forward through popstate.
import { useEffect, useState } from 'preact/hooks';

export const TABS = ['spend', 'keys', 'budgets', 'models', 'logs'] as const;
export type Tab = (typeof TABS)[number];
/** Tabs a non-admin (virtual key) session may open; the APIs enforce the scope, this only hides the rest. */
export const NON_ADMIN_TABS: readonly Tab[] = ['spend', 'logs'];

export function currentTab(): Tab {
  const name = location.pathname.replace(/^\/ui\/?/, '').split('/')[0];
  return TABS.find((t) => t === name) ?? 'spend';
}

export function navigate(tab: Tab): void {
  if (currentTab() === tab && location.pathname !== '/ui' && location.pathname !== '/ui/') return;
  history.pushState(null, '', `/ui/${tab}`);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useTab(): Tab {
  const [tab, setTab] = useState(currentTab);
  useEffect(() => {
    const onPop = () => setTab(currentTab());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  return tab;
}
