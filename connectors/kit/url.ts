import { z } from 'zod';

// The URL fields of the apps' scopes (where an API or a token endpoint lives), checked one way for every app.
// A value that is not a URL is told as such and goes no further: zod runs a refinement even after a failed
// format check, so the credentials check below must not parse what is not a URL (it threw, and the API
// answered 500 instead of a 400 naming the field).

/** An http(s) URL without a user name or password, for the scope field `what`; `example` shows one. */
export function httpUrl(what: string, example?: string) {
  return z
    .url({ protocol: /^https?$/, error: `${what} must be an http(s) URL${example ? `, e.g. ${example}` : ''}` })
    .refine((u) => {
      if (!URL.canParse(u)) return true; // already refused by the format check above
      const parsed = new URL(u);
      return !parsed.username && !parsed.password;
    }, `${what} must not contain a user name or password`);
}
