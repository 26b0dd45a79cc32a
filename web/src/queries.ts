import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, errorText, ok, type ConnectionStatus } from './api';
import { cycleSummary, PHASE_LABEL } from './format';

// The reads every page shares (polled, so the pages stay live) and the actions on a connection with the
// result each one reports.

export const keys = {
  connections: ['connections'] as const,
  connection: (id: string) => ['connection', id] as const,
  activity: (id: string) => ['activity', id] as const,
  brake: (id: string) => ['brake', id] as const,
};

export function useConnections() {
  return useQuery({
    queryKey: keys.connections,
    queryFn: () => ok(api.GET('/connections')),
    // The overview's live part: every connection's phase, counts and cycles come with the list.
    refetchInterval: 3_000,
  });
}

export function useConnection(id: string, pollMs = 2_000) {
  return useQuery({
    queryKey: keys.connection(id),
    queryFn: () => ok(api.GET('/connections/{id}', { params: { path: { id } } })),
    refetchInterval: pollMs,
  });
}

export function useActivity(id: string, pollMs = 10_000) {
  return useQuery({
    queryKey: keys.activity(id),
    queryFn: () => ok(api.GET('/connections/{id}/activity', { params: { path: { id }, query: { since: '24h', limit: 50 } } })),
    refetchInterval: pollMs,
  });
}

/** What the safety brake holds (the first `limit`, and how many in all), for its banner. */
export function useBrake(id: string, limit: number, pollMs = 3_000) {
  return useQuery({
    queryKey: [...keys.brake(id), limit],
    queryFn: () => ok(api.GET('/connections/{id}/brake', { params: { path: { id }, query: { limit } } })),
    refetchInterval: pollMs,
  });
}

/** A clock that re-renders relative times ("12 seconds ago") every second. */
export function useNow(everyMs = 1_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

export type ActionName = 'pause' | 'resume' | 'sync' | 'resync' | 'confirm' | 'cancel';

export interface ActionResult {
  tone: 'pending' | 'ok' | 'error';
  text: string;
}

const DONE: Record<'pause' | 'resume' | 'confirm' | 'cancel', string> = {
  pause: 'Paused: no further writes',
  resume: 'Resumed',
  confirm: 'Confirmed: the held deletions go through',
  cancel: 'Cancelled: the held deletions were dropped',
};

async function runAction(id: string, action: ActionName): Promise<{ status?: ConnectionStatus | null; cycle?: number; contacts?: number }> {
  const params = { params: { path: { id } } };
  switch (action) {
    case 'pause':
      return { status: await ok(api.POST('/connections/{id}/pause', params)) };
    case 'resume':
      return { status: await ok(api.POST('/connections/{id}/resume', params)) };
    case 'confirm':
      return { status: await ok(api.POST('/connections/{id}/confirm', params)) };
    case 'cancel':
      return { status: await ok(api.POST('/connections/{id}/cancel', params)) };
    case 'sync':
      return { cycle: (await ok(api.POST('/connections/{id}/sync', params))).cycle };
    case 'resync': {
      const answer = await ok(api.POST('/connections/{id}/resync', params));
      return { cycle: answer.cycle, contacts: answer.contacts };
    }
  }
}

/**
 * The actions on one connection. A cycle started by "sync now" or "resync all" reads "syncing…" until the
 * polled status shows that cycle finished, then what it did.
 */
export function useConnectionActions(id: string, status: ConnectionStatus | null | undefined) {
  const queryClient = useQueryClient();
  const [result, setResult] = useState<ActionResult | null>(null);
  const [waitingFor, setWaitingFor] = useState<{ cycle: number; prefix: string } | null>(null);

  const mutation = useMutation({
    mutationFn: (action: ActionName) => runAction(id, action),
    onMutate: (action) => {
      setWaitingFor(null);
      setResult({ tone: 'pending', text: action === 'pause' ? 'Pausing…' : action === 'sync' || action === 'resync' ? 'Starting…' : 'Working…' });
    },
    onSuccess: (answer, action) => {
      if (answer.cycle !== undefined) {
        const prefix = action === 'resync' ? `Resync of ${answer.contacts ?? 0} contacts. ` : '';
        setWaitingFor({ cycle: answer.cycle, prefix });
        setResult({ tone: 'pending', text: `${prefix}Syncing… (cycle ${answer.cycle})` });
      } else {
        const phase = answer.status ? ` (${PHASE_LABEL[answer.status.phase]})` : '';
        setResult({ tone: 'ok', text: `${DONE[action as keyof typeof DONE]}${phase}` });
      }
    },
    onError: (err) => setResult({ tone: 'error', text: errorText(err) }),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: keys.connections });
      void queryClient.invalidateQueries({ queryKey: keys.connection(id) });
      void queryClient.invalidateQueries({ queryKey: keys.activity(id) });
      void queryClient.invalidateQueries({ queryKey: keys.brake(id) });
    },
  });

  const finished = waitingFor && status?.lastCycle && status.lastCycle.cycle >= waitingFor.cycle ? status.lastCycle : null;
  useEffect(() => {
    if (!waitingFor || !finished) return;
    setResult({ tone: 'ok', text: `${waitingFor.prefix}${cycleSummary(finished)}` });
    setWaitingFor(null);
  }, [waitingFor, finished]);

  return { run: (action: ActionName) => mutation.mutate(action), busy: mutation.isPending || waitingFor !== null, result };
}
