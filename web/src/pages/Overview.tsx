import { Link } from 'wouter';
import type { Connection } from '../api';
import { ActionResult } from '../components/ActionResult';
import { ControlButtons } from '../components/ControlButtons';
import { PhaseBadge } from '../components/PhaseBadge';
import { Sparkline } from '../components/Sparkline';
import { accountLabel, ago, count, scopeText, when } from '../format';
import { useActivity, useConnectionActions, useConnections, useNow } from '../queries';

type Summary = Connection;

function Side({ label, account }: { label: string; account: Summary['a'] }) {
  return (
    <div className="side-line">
      <span className="side-tag">{label}</span> <span>{accountLabel(account)}</span>
      <div className="muted small">{scopeText(account)}</div>
    </div>
  );
}

function ConnectionRow({ summary, now }: { summary: Summary; now: number }) {
  const activity = useActivity(summary.id, 30_000);
  const status = summary.status;
  const phase = status?.phase ?? summary.state;
  const actions = useConnectionActions(summary.id, status);
  const paused = phase === 'paused';
  const { inSync, unresolvedFailures } = summary.overview;

  return (
    <tr data-connection={summary.id}>
      <td>
        <Link href={`/c/${summary.id}`} className="connection-name">
          {summary.name}
        </Link>
        <Side label="A" account={summary.a} />
        <Side label="B" account={summary.b} />
      </td>
      <td>
        <PhaseBadge phase={phase} status={status} />
      </td>
      <td className="num" data-testid="in-sync">
        {count(inSync)}
      </td>
      <td>
        <span title={when(status?.lastCycleAt)}>{ago(status?.lastCycleAt, now)}</span>
      </td>
      <td>
        <span title={when(status?.nextCycleAt)}>{paused ? '—' : ago(status?.nextCycleAt, now)}</span>
      </td>
      <td className="num" data-testid="failures">
        {unresolvedFailures > 0 ? (
          <Link href={`/c/${summary.id}/health?status=failed`} className="failures-link">
            {count(unresolvedFailures)}
          </Link>
        ) : (
          '0'
        )}
      </td>
      <td>
        <Sparkline activity={activity.data} />
      </td>
      <td className="actions">
        <div className="button-row">
          <ControlButtons phase={phase} actions={actions} />
        </div>
        <ActionResult result={actions.result} />
      </td>
    </tr>
  );
}

export function Overview() {
  const list = useConnections();
  const now = useNow();
  return (
    <>
      <div className="page-head">
        <h1>Connections</h1>
      </div>
      {list.isPending && <p className="loading">Loading…</p>}
      {list.isError && <p className="error-text">{list.error.message}</p>}
      {list.data && list.data.connections.length === 0 && (
        <div className="card empty">No connections yet. Create one with POST /connections (see the README).</div>
      )}
      {list.data && list.data.connections.length > 0 && (
        <div className="card table-card">
          <table className="connections">
            <thead>
              <tr>
                <th scope="col">Connection</th>
                <th scope="col">Phase</th>
                <th scope="col" className="num">
                  In sync
                </th>
                <th scope="col">Last cycle</th>
                <th scope="col">Next cycle</th>
                <th scope="col" className="num">
                  Failures
                </th>
                <th scope="col">24 hours</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.connections.map((c) => (
                <ConnectionRow key={c.id} summary={c} now={now} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
