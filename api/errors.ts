import type { z } from 'zod';

export interface Issue {
  path: string;
  message: string;
}

/** An error that becomes `{ error: { code, message, issues? } }` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);

export function validationError(issues: Issue[]): ApiError {
  const summary = issues
    .slice(0, 3)
    .map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
    .join('; ');
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return new ApiError(400, 'validation_failed', `Invalid request: ${summary}${more}`, issues);
}

/** "a.credentials.apiToken", "settings.mapping.custom[0].a": the form sync/ uses for its own issues too. */
export function joinPath(...parts: (string | number | symbol | undefined)[]): string {
  let path = '';
  for (const part of parts) {
    if (part === undefined || part === '') continue;
    if (typeof part === 'number') path += `[${part}]`;
    else path += path ? `.${String(part)}` : String(part);
  }
  return path;
}

export function zodIssues(error: z.ZodError, prefix?: string): Issue[] {
  return error.issues.flatMap((issue) => {
    // Unknown keys are one issue for several keys; naming each lets a client point at the offending field.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: joinPath(prefix, ...issue.path, key), message: 'Unknown field' }));
    }
    return [{ path: joinPath(prefix, ...issue.path), message: issue.message }];
  });
}

/**
 * What is logged of an error: name, message and stack frames. Not the whole object: client libraries hang
 * requests, responses and causes on their errors, and those can carry credentials.
 */
export function errorSummary(err: unknown): { name: string; message: string; frames?: string[] } {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const frames = err.stack
    ?.split('\n')
    .filter((line) => line.trimStart().startsWith('at '))
    .slice(0, 8)
    .map((line) => line.trim());
  return { name: err.name, message: err.message, ...(frames?.length ? { frames } : {}) };
}
