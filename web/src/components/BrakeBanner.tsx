import type { Connection, ConnectionStatus, HeldDeletion } from '../api';
import { count, sideName } from '../format';
import { useBrake } from '../queries';

// The safety brake's banner: why it holds the connection, which contacts' deletions it holds and what
// Confirm would do to their linked contacts (GET /connections/:id/brake), and Confirm / Cancel.

const SHOWN = 10;

function outcomeText(h: HeldDeletion, otherApp: string): string {
  switch (h.other.outcome) {
    case 'delete':
      return `its linked contact is deleted in ${otherApp}`;
    case 'tag':
      return `its linked contact is tagged “Rapport Trash” in ${otherApp}`;
    case 'unlink':
      return `its linked contact stays in ${otherApp}, unlinked`;
  }
}

function HeldList({ connection }: { connection: Connection }) {
  const brake = useBrake(connection.id, SHOWN);
  if (brake.isPending) return <p className="muted">Reading what it holds…</p>;
  if (brake.isError) return <p className="error-text">Could not read what it holds: {brake.error.message}</p>;
  const { held, total } = brake.data;
  if (total === 0) return null;
  const more = total - held.length;
  return (
    <>
      <table className="held" aria-label="Deletions held">
        <thead>
          <tr>
            <th>Contact</th>
            <th>Email</th>
            <th>Deleted in</th>
            <th>On Confirm</th>
          </tr>
        </thead>
        <tbody>
          {held.map((h) => (
            <tr key={`${h.side}:${h.id}`}>
              <td className="contact-name">{h.name ?? h.id}</td>
              <td>{h.email ?? '—'}</td>
              <td>
                <span className="side-tag">{h.side.toUpperCase()}</span> {sideName(connection, h.side)}
              </td>
              <td>{outcomeText(h, sideName(connection, h.other.side))}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {more > 0 && <p className="muted small">and {count(more)} more</p>}
    </>
  );
}

export function BrakeBanner({
  connection,
  status,
  run,
  busy,
}: {
  connection: Connection;
  status: ConnectionStatus;
  run: (a: 'confirm' | 'cancel') => void;
  busy: boolean;
}) {
  const brake = status.brake;
  if (status.phase !== 'needs-confirmation' || !brake) return null;
  return (
    <div className="banner banner-warning brake-banner" role="alert" data-testid="brake-banner">
      <div>
        <strong>The safety brake holds this connection.</strong> No deletions were made: confirm to let them through, or cancel to drop them
        (the links are kept).
        <ul>
          {brake.reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      </div>
      <HeldList connection={connection} />
      <div className="button-row">
        <button type="button" className="danger" onClick={() => run('confirm')} disabled={busy}>
          Confirm deletions
        </button>
        <button type="button" onClick={() => run('cancel')} disabled={busy}>
          Cancel deletions
        </button>
      </div>
    </div>
  );
}
