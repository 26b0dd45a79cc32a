import type { SessionInfo } from './api';

// Links into the Temporal UI, when the API knows where it is (TEMPORAL_UI_URL).

const NAMESPACE = 'default';

function base(session: SessionInfo): string | null {
  const url = session.temporalUiUrl;
  return url ? url.replace(/\/+$/, '') : null;
}

export function workflowLink(session: SessionInfo, workflowId: string): string | null {
  const ui = base(session);
  return ui ? `${ui}/namespaces/${NAMESPACE}/workflows/${encodeURIComponent(workflowId)}` : null;
}

export function workflowsQueryLink(session: SessionInfo, query: string): string | null {
  const ui = base(session);
  return ui ? `${ui}/namespaces/${NAMESPACE}/workflows?query=${encodeURIComponent(query)}` : null;
}

export const connectionWorkflowId = (connectionId: string) => `connection:${connectionId}`;
export const failureCasesQuery = (connectionId: string) =>
  `WorkflowType="contactFailureWorkflow" AND ConnectionId="${connectionId.replace(/["\\]/g, '\\$&')}"`;
