import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from '../generated/api';

// The API client, typed from the API's own OpenAPI document (web/generated/api.ts, made at build).
// Same origin: the session cookie rides along by itself; the CSRF token lives only in this module's memory
// and goes out on every state-changing request.

let csrfToken: string | null = null;
let onSignedOut: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when the API answers 401 to a signed-in page: the session ended elsewhere or expired. */
export function onSessionLost(fn: () => void): void {
  onSignedOut = fn;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const session: Middleware = {
  onRequest({ request }) {
    if (!SAFE_METHODS.has(request.method) && csrfToken) request.headers.set('X-CSRF-Token', csrfToken);
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && !new URL(request.url).pathname.startsWith('/session')) onSignedOut?.();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(session);

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The body of a successful answer, or an ApiError with the API's own message. */
export async function ok<T>(call: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const body = (error ?? {}) as { error?: { code?: string; message?: string } };
  throw new ApiError(response.status, body.error?.code ?? 'error', body.error?.message ?? `${response.status} ${response.statusText}`);
}

export const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
export type Answer<P extends keyof paths, M extends keyof paths[P], S extends number = 200> = paths[P][M] extends {
  responses: infer Rs;
}
  ? S extends keyof Rs
    ? Json<Rs[S]>
    : never
  : never;

export type Connection = Answer<'/connections/{id}', 'get'>;
export type ConnectionStatus = NonNullable<Connection['status']>;
export type Phase = Connection['state'];
export type Activity = Answer<'/connections/{id}/activity', 'get'>;
export type ActivityEvent = Activity['events'][number];
export type Conflict = Answer<'/connections/{id}/conflicts', 'get'>['conflicts'][number];
export type ContactList = Answer<'/connections/{id}/contacts', 'get'>;
export type ContactStatus = ContactList['contacts'][number];
export type SessionInfo = Answer<'/session', 'get'>;
export type Brake = Answer<'/connections/{id}/brake', 'get'>;
export type HeldDeletion = Brake['held'][number];
