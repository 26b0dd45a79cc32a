import { useInfiniteQuery } from '@tanstack/react-query';
import { api, ok, type ActivityEvent, type Connection } from '../api';
import { ActivityChart } from '../components/ActivityChart';
import { sideName, when } from '../format';
import { keys } from '../queries';

const EVENTS_PAGE = 20;

interface Change {
  field: string;
  from: unknown;
  to: unknown;
}

export function valueText(value: unknown): string {
  if (value === null || value === undefined || value === '') return '(empty)';
  if (Array.isArray(value)) return value.length ? value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ') : '(empty)';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function changesOf(event: ActivityEvent): Change[] | null {
  const changes = event.detail?.changes;
  if (!Array.isArray(changes)) return null;
  return changes.filter((c): c is Change => !!c && typeof c === 'object' && typeof (c as Change).field === 'string');
}

function EventDetail({ event }: { event: ActivityEvent }) {
  const changes = changesOf(event);
  if (changes && changes.length > 0)
    return (
      <ul className="changes">
        {changes.map((c) => (
          <li key={c.field}>
            <span className="field">{c.field}</span>: <span className="from">{valueText(c.from)}</span> → <span className="to">{valueText(c.to)}</span>
          </li>
        ))}
      </ul>
    );
  if (event.changed && event.changed.length > 0) return <span className="muted">changed {event.changed.join(', ')}</span>;
  const message = event.detail?.message;
  if (typeof message === 'string') return <span className="error-text">{message}</span>;
  return null;
}

export function ActivityTab({ connection }: { connection: Connection }) {
  const id = connection.id;
  const activity = useInfiniteQuery({
    queryKey: [...keys.activity(id), 'stream'],
    queryFn: ({ pageParam }) =>
      ok(api.GET('/connections/{id}/activity', { params: { path: { id }, query: { since: '24h', limit: EVENTS_PAGE, ...(pageParam ? { cursor: pageParam } : {}) } } })),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
    refetchInterval: 5_000,
  });
  if (activity.isPending) return <p className="loading">Loading…</p>;
  if (activity.isError) return <p className="error-text">{activity.error.message}</p>;
  const first = activity.data.pages[0];
  const events = activity.data.pages.flatMap((p) => p.events);
  const names = { a: sideName(connection, 'a'), b: sideName(connection, 'b') };

  return (
    <>
      <section className="card">
        <h2>Last 24 hours</h2>
        <ActivityChart activity={first} names={names} />
      </section>
      <section className="card">
        <h2>Recent events</h2>
        {events.length === 0 ? (
          <p className="muted">Nothing happened in the last 24 hours.</p>
        ) : (
          <table className="events">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">Written to</th>
                <th scope="col">Contact</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id} data-kind={e.kind}>
                  <td className="nowrap">{when(e.at)}</td>
                  <td>
                    <span className={`badge kind-${e.kind}`}>{e.kind}</span>
                  </td>
                  <td className="nowrap">{e.side ? `${e.side.toUpperCase()}: ${names[e.side]}` : '—'}</td>
                  <td className="contact-name">{e.contactName ?? e.extId ?? '—'}</td>
                  <td>
                    <EventDetail event={e} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {activity.hasNextPage && (
          <button type="button" onClick={() => void activity.fetchNextPage()} disabled={activity.isFetchingNextPage}>
            {activity.isFetchingNextPage ? 'Loading…' : 'Older events'}
          </button>
        )}
      </section>
    </>
  );
}
