import { useConnectionActions } from '../queries';

type Actions = ReturnType<typeof useConnectionActions>;

/** Pause or Resume, then Sync now (and Resync all on a connection's own page): the same rules everywhere. */
export function ControlButtons({ phase, actions, resync = false }: { phase: string | undefined; actions: Actions; resync?: boolean }) {
  const idle = actions.busy || phase !== 'running';
  return (
    <>
      {phase === 'paused' ? (
        <button type="button" className="primary" onClick={() => actions.run('resume')} disabled={actions.busy}>
          Resume
        </button>
      ) : (
        <button type="button" onClick={() => actions.run('pause')} disabled={actions.busy || phase === 'stopped'}>
          Pause
        </button>
      )}
      <button type="button" onClick={() => actions.run('sync')} disabled={idle}>
        Sync now
      </button>
      {resync && (
        <button type="button" onClick={() => actions.run('resync')} disabled={idle}>
          Resync all
        </button>
      )}
    </>
  );
}
