import type { ConnectionStatus, Phase } from '../api';
import { PHASE_LABEL, scanProgress } from '../format';

/** The phase as a coloured badge; during the initial scan, with how far it got. */
export function PhaseBadge({ phase, status }: { phase: Phase; status?: ConnectionStatus | null }) {
  const progress = phase === 'initial-scan' && status ? scanProgress(status) : null;
  return (
    <span className="phase">
      <span className={`badge phase-${phase}`} data-phase={phase}>
        {PHASE_LABEL[phase]}
        {status?.syncing && phase === 'running' ? ' · syncing' : ''}
      </span>
      {progress && (
        <span className="scan-progress">
          {progress.share !== null && <progress max={1} value={progress.share} aria-label="Initial scan progress" />}
          <span className="muted small">
            A {progress.a} · B {progress.b}
          </span>
        </span>
      )}
    </span>
  );
}
