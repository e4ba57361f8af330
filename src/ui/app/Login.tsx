// The login form: UI_USERNAME / UI_PASSWORD for an admin, or a virtual key alone for a scoped view.
import { useState } from 'preact/hooks';
import { type ApiError, post } from './api.js';

/** The server's retry-after: seconds for the short per-account backoff, minutes for an address's window. */
function waitText(seconds: number): string {
  if (seconds < 120) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

export function Login({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await post('/ui/api/login', { username, password });
      onLoggedIn();
    } catch (err) {
      const apiErr = err as ApiError;
      setError(
        apiErr.status === 429 && apiErr.retryAfter
          ? `Too many failed attempts. Try again in ${waitText(apiErr.retryAfter)}.`
          : apiErr.status === 401
            ? 'Wrong username or password (or not a valid virtual key).'
            : apiErr.message,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">
          <span class="logo" aria-hidden="true">
            $
          </span>{' '}
          Spendhouse
        </h1>
        <label>
          Username
          <input
            name="username"
            autocomplete="username"
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label>
          Password or virtual key
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <p class="hint">
          Admins: UI_USERNAME / UI_PASSWORD (the password defaults to the master key). Key holders: leave the username
          empty and paste your key.
        </p>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
