import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Random lower-case alphanumerics: safe in URLs, workflow ids and search attributes. */
export function randomToken(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // Bytes of 252 and above are skipped so that every character is equally likely (252 = 7 * 36).
      if (byte < 252 && out.length < length) out += ALPHABET[byte % 36];
    }
  }
  return out;
}

/** "<prefix>_<16 characters>": about 82 random bits, and the prefix tells what the id is for. */
export const newId = (prefix: string): string => `${prefix}_${randomToken(16)}`;
