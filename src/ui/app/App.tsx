// The shell: who is logged in (GET /ui/api/session), the login form when nobody is, otherwise the tab bar
// and the current tab. A 401 from any API call returns to the login form.
import { useEffect, useState } from 'preact/hooks';
import { get, onUnauthorized, post, type SessionInfo } from './api.js';
import { BudgetsTab } from './budgets/BudgetsTab.js';
import { ErrorBox, Loading, useAsync } from './components.js';
import { KeysTab } from './keys/KeysTab.js';
import { Login } from './Login.js';
import { LogsTab } from './logs/LogsTab.js';
import { ModelsTab } from './models/ModelsTab.js';
import { NON_ADMIN_TABS, navigate, TABS, type Tab, useTab } from './router.js';
import { SpendTab } from './spend/SpendTab.js';

const TAB_LABELS: Record<Tab, string> = {
  spend: 'Spend',
  keys: 'Keys',
  budgets: 'Budgets',
  models: 'Models',
  logs: 'Logs',
};

function TabContent({ tab, session }: { tab: Tab; session: SessionInfo }) {
  switch (tab) {
    case 'spend':
      return <SpendTab session={session} />;
    case 'keys':
      return <KeysTab />;
    case 'budgets':
      return <BudgetsTab />;
    case 'models':
      return <ModelsTab />;
    case 'logs':
      return <LogsTab session={session} />;
  }
}

export function App() {
  const [session, reload] = useAsync((signal) => get<SessionInfo>('/ui/api/session', signal).catch(() => null), []);
  const [loggedOut, setLoggedOut] = useState(false);
  const tab = useTab();
  useEffect(() => onUnauthorized(() => setLoggedOut(true)), []);

  if (session.status === 'loading') return <Loading label="Starting…" />;
  if (session.status === 'error') return <ErrorBox error={session.error} onRetry={reload} />;
  if (!session.data || loggedOut) {
    return (
      <Login
        onLoggedIn={() => {
          setLoggedOut(false);
          reload();
        }}
      />
    );
  }
  const me = session.data;
  const tabs = me.isAdmin ? TABS : NON_ADMIN_TABS;
  const shown = tabs.includes(tab) ? tab : 'spend';
  return (
    <div class="shell">
      <header class="topbar">
        <span class="brand">
          <span class="logo" aria-hidden="true">
            $
          </span>{' '}
          Spendhouse
        </span>
        <nav aria-label="Sections">
          {tabs.map((t) => (
            <a
              key={t}
              href={`/ui/${t}`}
              aria-current={t === shown ? 'page' : undefined}
              onClick={(e) => {
                if (e.ctrlKey || e.metaKey || e.shiftKey) return;
                e.preventDefault();
                navigate(t);
              }}
            >
              {TAB_LABELS[t]}
            </a>
          ))}
        </nav>
        <span class="who">
          <span title={me.isAdmin ? 'admin: sees everything' : 'scoped to this key'}>
            {me.username}
            {me.isAdmin ? ' (admin)' : me.teamId ? ` · team ${me.teamId}` : ''}
          </span>
          <button
            type="button"
            class="link"
            onClick={async () => {
              await post('/ui/api/logout', {}).catch(() => undefined);
              setLoggedOut(true);
            }}
          >
            Log out
          </button>
        </span>
      </header>
      <main class="content" id="main">
        <TabContent tab={shown} session={me} />
      </main>
    </div>
  );
}
