import type { ReactNode } from 'react';
import { Link } from 'wouter';
import { useSession, useSignOut } from './session';

export function Layout({ children }: { children: ReactNode }) {
  const session = useSession();
  const signOut = useSignOut();
  return (
    <>
      <header className="topbar">
        <Link href="/" className="brand">
          Rapport
        </Link>
        <nav>
          <Link href="/">Connections</Link>
        </nav>
        <span className="spacer" />
        <span className="workspace" title={session.workspace.id}>
          Workspace <strong data-testid="workspace-name">{session.workspace.name}</strong>
        </span>
        <button type="button" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
          Sign out
        </button>
      </header>
      <main className="content">{children}</main>
    </>
  );
}
