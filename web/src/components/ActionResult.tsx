import type { ActionResult as Result } from '../queries';

export function ActionResult({ result }: { result: Result | null }) {
  if (!result) return null;
  return (
    <span className={`action-result tone-${result.tone}`} role="status">
      {result.text}
    </span>
  );
}
