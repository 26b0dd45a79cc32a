import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useSearch } from 'wouter';
import { api, errorText, ok, type Connection, type ContactList, type ContactStatus } from '../api';
import { count, sideName, when } from '../format';
import { useSession } from '../session';
import { workflowLink } from '../temporal';

type Status = ContactStatus['status'];
type CountKey = keyof ContactList['counts'];

const STATUSES: { status: Status; key: CountKey; label: string }[] = [
  { status: 'in-sync', key: 'inSync', label: 'In sync' },
  { status: 'pending', key: 'pending', label: 'Waiting for the next cycle' },
  { status: 'excluded', key: 'excluded', label: 'Excluded by the rules' },
  { status: 'no-email', key: 'noEmail', label: 'No email' },
  { status: 'ambiguous', key: 'ambiguous', label: 'Ambiguous' },
  { status: 'failed', key: 'failed', label: 'Failed' },
];
const LABEL = Object.fromEntries(STATUSES.map((s) => [s.status, s.label])) as Record<Status, string>;
const PAGE = 50;

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

function StatusDetail({ contact, names }: { contact: ContactStatus; names: Record<'a' | 'b', string> }) {
  const session = useSession();
  const other = contact.side === 'a' ? 'b' : 'a';
  switch (contact.status) {
    case 'in-sync':
    case 'pending':
      return contact.linkedId ? (
        <span className="muted">
          linked to {other.toUpperCase()} {contact.linkedId}
        </span>
      ) : null;
    case 'excluded':
      return contact.rule ? (
        <span>
          {contact.rule.index !== null ? `rule ${contact.rule.index + 1}: ` : ''}
          <span className="rule">{contact.rule.text}</span>
        </span>
      ) : null;
    case 'no-email':
      return <span className="muted">has no email, so it is never matched</span>;
    case 'ambiguous':
      return (
        <span>
          {contact.candidates?.length ?? 0} candidates on {names[other]}: {(contact.candidates ?? []).join(', ')}
        </span>
      );
    case 'failed': {
      const f = contact.failure;
      if (!f) return null;
      const link = workflowLink(session, f.workflowId);
      return (
        <div className="failure">
          <div className="error-text app-message">{f.message}</div>
          <div className="muted small">
            step {f.step} · {f.attempts} {f.attempts === 1 ? 'attempt' : 'attempts'} · last {when(f.lastAt)}
            {link && (
              <>
                {' · '}
                <a href={link} target="_blank" rel="noreferrer">
                  case in Temporal UI
                </a>
              </>
            )}
          </div>
        </div>
      );
    }
  }
}

export function HealthTab({ connection }: { connection: Connection }) {
  const id = connection.id;
  const queryClient = useQueryClient();
  const initialStatus = new URLSearchParams(useSearch()).get('status') as Status | null;
  const [status, setStatus] = useState<Status | null>(initialStatus && LABEL[initialStatus] ? initialStatus : null);
  const [side, setSide] = useState<'a' | 'b' | null>(null);
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 250);
  // Keyset paging: the cursors of the pages before this one, to go back.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1];
  const [retried, setRetried] = useState<Record<string, string>>({});
  const names = { a: sideName(connection, 'a'), b: sideName(connection, 'b') };

  useEffect(() => setCursors([null]), [status, side, q]);

  const list = useQuery({
    queryKey: ['contacts', id, status, side, q, cursor],
    queryFn: () =>
      ok(
        api.GET('/connections/{id}/contacts', {
          params: {
            path: { id },
            query: { limit: PAGE, ...(status ? { status } : {}), ...(side ? { side } : {}), ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) },
          },
        }),
      ),
    placeholderData: keepPreviousData,
    refetchInterval: 4_000,
  });

  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['contacts', id] });
  const retryOne = useMutation({
    mutationFn: (failureId: string) => ok(api.POST('/connections/{id}/failures/{failureId}/retry', { params: { path: { id, failureId } } })),
    onMutate: (failureId) => setRetried((r) => ({ ...r, [failureId]: 'Retrying…' })),
    onSuccess: (_answer, failureId) => setRetried((r) => ({ ...r, [failureId]: 'Retry started' })),
    onError: (err, failureId) => setRetried((r) => ({ ...r, [failureId]: errorText(err) })),
    onSettled: refresh,
  });
  const retryAll = useMutation({
    mutationFn: () => ok(api.POST('/connections/{id}/failures/retry-all', { params: { path: { id } } })),
    onSettled: refresh,
  });

  const counts = list.data?.counts;
  const total = counts ? Object.values(counts).reduce((a, b) => a + b, 0) : null;

  return (
    <section className="card health">
      <div className="section-head">
        <h2>Health</h2>
        <div className="button-row">
          <button type="button" onClick={() => retryAll.mutate()} disabled={retryAll.isPending || !counts?.failed}>
            {retryAll.isPending ? 'Retrying…' : `Retry all failed${counts?.failed ? ` (${count(counts.failed)})` : ''}`}
          </button>
          {retryAll.isSuccess && (
            <span className="action-result tone-ok" role="status">
              Retry started for {retryAll.data.workflowIds.length} contacts
            </span>
          )}
          {retryAll.isError && <span className="action-result tone-error">{errorText(retryAll.error)}</span>}
        </div>
      </div>

      <div className="filters" role="group" aria-label="Filter by status">
        <button type="button" className={status === null ? 'chip active' : 'chip'} aria-pressed={status === null} onClick={() => setStatus(null)}>
          All{total !== null ? ` ${count(total)}` : ''}
        </button>
        {STATUSES.map((s) => (
          <button
            key={s.status}
            type="button"
            className={status === s.status ? `chip active chip-${s.status}` : `chip chip-${s.status}`}
            aria-pressed={status === s.status}
            data-status={s.status}
            onClick={() => setStatus(s.status)}
          >
            {s.label}
            {counts ? ` ${count(counts[s.key])}` : ''}
          </button>
        ))}
      </div>
      <div className="filters">
        <input type="search" placeholder="Search name or email" aria-label="Search name or email" value={search} onChange={(e) => setSearch(e.target.value)} />
        <select aria-label="Side" value={side ?? ''} onChange={(e) => setSide(e.target.value === '' ? null : (e.target.value as 'a' | 'b'))}>
          <option value="">Both sides</option>
          <option value="a">A: {names.a}</option>
          <option value="b">B: {names.b}</option>
        </select>
      </div>

      {list.isPending && <p className="loading">Loading…</p>}
      {list.isError && <p className="error-text">{list.error.message}</p>}
      {list.data && list.data.contacts.length === 0 && <p className="muted">No contact matches.</p>}
      {list.data && list.data.contacts.length > 0 && (
        <table className="contacts">
          <thead>
            <tr>
              <th scope="col">Side</th>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Status</th>
              <th scope="col">Why</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {list.data.contacts.map((c) => (
              <tr key={`${c.side}:${c.id}`} data-contact={`${c.side}:${c.id}`} data-status={c.status}>
                <td className="nowrap">
                  <span className="side-tag">{c.side.toUpperCase()}</span>
                </td>
                <td className="contact-name">{c.name ?? '(no name)'}</td>
                <td>{c.email ?? '—'}</td>
                <td className="nowrap">
                  <span className={`badge status-${c.status}`}>{LABEL[c.status]}</span>
                </td>
                <td>
                  <StatusDetail contact={c} names={names} />
                </td>
                <td className="nowrap">
                  {c.status === 'failed' && c.failure && (
                    <>
                      <button type="button" onClick={() => retryOne.mutate(c.failure!.id)} disabled={retried[c.failure.id] === 'Retrying…'}>
                        Retry
                      </button>
                      {retried[c.failure.id] && <span className="muted small"> {retried[c.failure.id]}</span>}
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="pager">
        <button type="button" onClick={() => setCursors((c) => c.slice(0, -1))} disabled={cursors.length <= 1}>
          ← Previous
        </button>
        <span className="muted small">Page {cursors.length}</span>
        <button type="button" onClick={() => list.data?.nextCursor && setCursors((c) => [...c, list.data!.nextCursor])} disabled={!list.data?.nextCursor}>
          Next →
        </button>
      </div>
    </section>
  );
}
