import { useInfiniteQuery } from '@tanstack/react-query';
import { api, ok, type Connection } from '../api';
import { sideName, when } from '../format';
import { valueText } from './ActivityTab';

export function ConflictsTab({ connection }: { connection: Connection }) {
  const id = connection.id;
  const conflicts = useInfiniteQuery({
    queryKey: ['conflicts', id],
    queryFn: ({ pageParam }) => ok(api.GET('/connections/{id}/conflicts', { params: { path: { id }, query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } } })),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
    refetchInterval: 15_000,
  });
  if (conflicts.isPending) return <p className="loading">Loading…</p>;
  if (conflicts.isError) return <p className="error-text">{conflicts.error.message}</p>;
  const rows = conflicts.data.pages.flatMap((p) => p.conflicts);
  const names = { a: sideName(connection, 'a'), b: sideName(connection, 'b') };
  return (
    <section className="card">
      <h2>Conflicts</h2>
      <p className="muted">A field changed on both sides between two cycles; the master side's value was kept and written to the other.</p>
      {rows.length === 0 ? (
        <p className="muted">No conflicts.</p>
      ) : (
        <table className="conflicts">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Field</th>
              <th scope="col">A: {names.a}</th>
              <th scope="col">B: {names.b}</th>
              <th scope="col">Winner</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.id}>
                <td className="nowrap">{when(c.at)}</td>
                <td>{c.fieldA === c.fieldB ? c.fieldA : `${c.fieldA} / ${c.fieldB}`}</td>
                <td className={c.winner === 'a' ? 'winner' : 'loser'}>{valueText(c.valueA)}</td>
                <td className={c.winner === 'b' ? 'winner' : 'loser'}>{valueText(c.valueB)}</td>
                <td>
                  <span className="badge">{c.winner.toUpperCase()}: {names[c.winner]}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {conflicts.hasNextPage && (
        <button type="button" onClick={() => void conflicts.fetchNextPage()} disabled={conflicts.isFetchingNextPage}>
          Older conflicts
        </button>
      )}
    </section>
  );
}
