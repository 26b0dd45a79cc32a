// The query parameters a vendor's endpoint defines, checked the way the vendor checks them: a parameter the
// endpoint does not define is refused (each sandbox words the refusal as its vendor does), so a connector that
// sends a misspelt or undocumented parameter fails in tests as it would against the real API.

/** The first query parameter of `query` that is neither in `allowed` nor matched by one of `patterns`. */
export function unknownParameter(query: Record<string, unknown>, allowed: readonly string[], patterns: readonly RegExp[] = []): string | undefined {
  return Object.keys(query).find((name) => !allowed.includes(name) && !patterns.some((p) => p.test(name)));
}

/** The first parameter of `required` that `query` lacks or leaves empty. */
export function missingParameter(query: Record<string, unknown>, required: readonly string[]): string | undefined {
  return required.find((name) => query[name] === undefined || query[name] === '');
}
