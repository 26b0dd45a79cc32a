import { useState, type FormEvent } from 'react';
import { errorText } from '../api';
import { useSignIn } from '../session';

/** The API key is sent once, for the session cookie; the page keeps nothing of it. */
export function SignIn() {
  const [apiKey, setApiKey] = useState('');
  const signIn = useSignIn();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate(apiKey.trim(), { onSuccess: () => setApiKey('') });
  };
  return (
    <main className="sign-in">
      <form className="card sign-in-card" onSubmit={submit}>
        <h1 className="brand">Rapport</h1>
        <p className="muted">Sign in with an API key of your workspace (the <code>rk_…</code> key that <code>npm start</code> or <code>npm run api-key</code> printed).</p>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="rk_…"
          value={apiKey}
          onChange={(e) => setApiKey(e.target.value)}
          required
        />
        {signIn.isError && (
          <p className="error-text" role="alert">
            {errorText(signIn.error)}
          </p>
        )}
        <button type="submit" className="primary" disabled={signIn.isPending || apiKey.trim() === ''}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
