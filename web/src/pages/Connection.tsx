import { useState } from 'react';
import { Link, useLocation } from 'wouter';
import { api, errorText, ok, type Connection as ConnectionView, type ConnectionStatus } from '../api';
import { ActionResult } from '../components/ActionResult';
import { BrakeBanner } from '../components/BrakeBanner';
import { ControlButtons } from '../components/ControlButtons';
import { PhaseBadge } from '../components/PhaseBadge';
import { accountLabel, ago, count, cycleSummary, scanProgress, scopeText, when } from '../format';
import { useConnection, useConnectionActions, useNow } from '../queries';
import { useSession } from '../session';
import { connectionWorkflowId, failureCasesQuery, workflowLink, workflowsQueryLink } from '../temporal';
import { ActivityTab } from './ActivityTab';
import { ConflictsTab } from './ConflictsTab';
import { HealthTab } from './HealthTab';

export type Tab = 'activity' | 'health' | 'conflicts';
const TABS: { tab: Tab; label: string }[] = [
  { tab: 'activity', label: 'Activity' },
  { tab: 'health', label: 'Health' },
  { tab: 'conflicts', label: 'Conflicts' },
];

function Counts({ status, overview }: { status: ConnectionStatus; overview: ConnectionView['overview'] }) {
  const c = status.counts;
  const items: [string, string][] = [
    ['In sync', count(overview.inSync)],
    ['Unresolved failures', count(overview.unresolvedFailures)],
    ['Matched', count(c.matched)],
    ['Created A | B', `${count(c.created.a)} | ${count(c.created.b)}`],
    ['Updated A | B', `${count(c.updated.a)} | ${count(c.updated.b)}`],
    ['Deleted A | B', `${count(c.deleted.a)} | ${count(c.deleted.b)}`],
    ['Conflicts', count(c.conflicts)],
  ];
  return (
    <dl className="stats">
      {items.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function DeleteButton({ connection }: { connection: ConnectionView }) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [, navigate] = useLocation();
  if (!asking)
    return (
      <button type="button" className="danger-outline" onClick={() => setAsking(true)}>
        Delete…
      </button>
    );
  const remove = async () => {
    setDeleting(true);
    try {
      await ok(api.DELETE('/connections/{id}', { params: { path: { id: connection.id } } }));
      navigate('/');
    } catch (err) {
      setError(errorText(err));
      setDeleting(false);
    }
  };
  return (
    <span className="confirm-delete" role="group" aria-label="Confirm deletion">
      <span>Delete “{connection.name}”? Its sync stops; the contacts in both apps stay.</span>
      <button type="button" className="danger" onClick={() => void remove()} disabled={deleting}>
        {deleting ? 'Deleting…' : 'Delete connection'}
      </button>
      <button type="button" onClick={() => setAsking(false)} disabled={deleting}>
        Keep it
      </button>
      {error && <span className="error-text">{error}</span>}
    </span>
  );
}

function Header({ connection }: { connection: ConnectionView }) {
  const session = useSession();
  const now = useNow();
  const status = connection.status;
  const phase = status?.phase ?? connection.state;
  const actions = useConnectionActions(connection.id, status);
  const progress = status && phase === 'initial-scan' ? scanProgress(status) : null;
  const wfLink = workflowLink(session, connectionWorkflowId(connection.id));
  const casesLink = workflowsQueryLink(session, failureCasesQuery(connection.id));

  return (
    <section className="card connection-header">
      <div className="header-top">
        <div>
          <h1>{connection.name}</h1>
          <div className="sides">
            <span>
              <span className="side-tag">A</span> {accountLabel(connection.a)} <span className="muted small">({scopeText(connection.a)})</span>
            </span>
            <span className="direction" aria-label={connection.settings.direction}>
              {connection.settings.direction === 'a-to-b' ? '→' : connection.settings.direction === 'b-to-a' ? '←' : '↔'}
            </span>
            <span>
              <span className="side-tag">B</span> {accountLabel(connection.b)} <span className="muted small">({scopeText(connection.b)})</span>
            </span>
          </div>
        </div>
        <PhaseBadge phase={phase} status={status} />
      </div>

      {status === null && <p className="error-text">The workflow does not answer (not running, or Temporal cannot be reached).</p>}
      {status && <BrakeBanner connection={connection} status={status} run={actions.run} busy={actions.busy} />}
      {progress && (
        <p className="muted">
          Initial scan: {progress.a} contacts read on A, {progress.b} on B
          {progress.share !== null ? ` (${Math.round(progress.share * 100)}%)` : ''}.
        </p>
      )}
      {status && (
        <>
          <Counts status={status} overview={connection.overview} />
          <dl className="cycle-info">
            <div>
              <dt>Last cycle</dt>
              <dd title={when(status.lastCycleAt)}>
                {ago(status.lastCycleAt, now)}
                {status.lastCycle ? ` · ${cycleSummary(status.lastCycle)}` : ''}
              </dd>
            </div>
            <div>
              <dt>Next cycle</dt>
              <dd title={when(status.nextCycleAt)}>{phase === 'paused' ? 'paused' : ago(status.nextCycleAt, now)}</dd>
            </div>
            {status.lastError && (
              <div className="last-error">
                <dt>Last error</dt>
                <dd className="error-text">{status.lastError}</dd>
              </div>
            )}
          </dl>
        </>
      )}

      <div className="toolbar">
        <div className="button-row">
          <ControlButtons phase={phase} actions={actions} resync />
          <ActionResult result={actions.result} />
        </div>
        <div className="button-row">
          {wfLink && (
            <a href={wfLink} target="_blank" rel="noreferrer">
              Workflow in Temporal UI
            </a>
          )}
          {casesLink && (
            <a href={casesLink} target="_blank" rel="noreferrer">
              Failure cases in Temporal UI
            </a>
          )}
          <DeleteButton connection={connection} />
        </div>
      </div>
    </section>
  );
}

export function ConnectionPage({ id, tab }: { id: string; tab: Tab }) {
  const connection = useConnection(id);
  if (connection.isPending) return <p className="loading">Loading…</p>;
  if (connection.isError) return <p className="error-text">{connection.error.message}</p>;
  const c = connection.data;
  return (
    <>
      <nav className="breadcrumb">
        <Link href="/">Connections</Link> / <span>{c.name}</span>
      </nav>
      <Header connection={c} />
      <nav className="tabs" aria-label="Connection pages">
        {TABS.map((t) => (
          <Link key={t.tab} href={t.tab === 'activity' ? `/c/${id}` : `/c/${id}/${t.tab}`} className={t.tab === tab ? 'tab active' : 'tab'} aria-current={t.tab === tab ? 'page' : undefined}>
            {t.label}
          </Link>
        ))}
      </nav>
      {tab === 'activity' && <ActivityTab connection={c} />}
      {tab === 'health' && <HealthTab connection={c} />}
      {tab === 'conflicts' && <ConflictsTab connection={c} />}
    </>
  );
}
