import type { SessionInfo } from './api';

// Links into the Temporal UI, when the API knows where it is (TEMPORAL_UI_URL), in the namespace the API's
// workflows run in (TEMPORAL_NAMESPACE).

/** The UI's workflow list of the session's namespace, or null without a Temporal UI. */
function workflowsBase(session: SessionInfo): string | null {
  const url = session.temporalUiUrl;
  if (!url) return null;
  return `${url.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(session.temporalNamespace)}/workflows`;
}

export function workflowLink(session: SessionInfo, workflowId: string): string | null {
  const list = workflowsBase(session);
  return list ? `${list}/${encodeURIComponent(workflowId)}` : null;
}

export function workflowsQueryLink(session: SessionInfo, query: string): string | null {
  const list = workflowsBase(session);
  return list ? `${list}?query=${encodeURIComponent(query)}` : null;
}

export const connectionWorkflowId = (connectionId: string) => `connection:${connectionId}`;
export const failureCasesQuery = (connectionId: string) =>
  `WorkflowType="contactFailureWorkflow" AND ConnectionId="${connectionId.replace(/["\\]/g, '\\$&')}"`;
