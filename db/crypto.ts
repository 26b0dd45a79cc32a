import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// Credentials are stored as AES-256-GCM envelopes: GCM authenticates, so a wrong key or a tampered row is
// reported as an error instead of decrypting to garbage that a connector would then send to an app.

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_ENV = 'RAPPORT_MASTER_KEY';
export const MASTER_KEY_FILE = 'master.key';

/** Raised for every envelope that cannot be opened; the message never includes the envelope itself. */
export class SecretDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretDecryptionError';
  }
}

/** Raised when the master key (from the environment or the key file) is not 32 bytes of base64 or hex. */
export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

function assertKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== MASTER_KEY_BYTES) {
    throw new MasterKeyError(`The master key must be ${MASTER_KEY_BYTES} bytes, got ${Buffer.isBuffer(key) ? key.length : typeof key}`);
  }
}

/** Encrypts a JSON-serialisable value into "v1:<iv>:<tag>:<ciphertext>" (each part base64). */
export function encryptSecret(value: unknown, key: Buffer): string {
  assertKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  const plaintext = Buffer.from(JSON.stringify(value), 'utf8');
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv.toString('base64'), tag.toString('base64'), ciphertext.toString('base64')].join(':');
}

export function decryptSecret<T = Record<string, string>>(envelope: string, key: Buffer): T {
  assertKey(key);
  if (typeof envelope !== 'string') throw new SecretDecryptionError('Encrypted secret is not a string');
  const parts = envelope.split(':');
  if (parts[0] !== VERSION) {
    throw new SecretDecryptionError(`Unsupported secret envelope version "${parts[0]?.slice(0, 8) ?? ''}" (expected ${VERSION})`);
  }
  if (parts.length !== 4) throw new SecretDecryptionError('Malformed secret envelope');
  const iv = Buffer.from(parts[1], 'base64');
  const tag = Buffer.from(parts[2], 'base64');
  const ciphertext = Buffer.from(parts[3], 'base64');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretDecryptionError('Malformed secret envelope');
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new SecretDecryptionError(
      `Cannot decrypt stored credentials: the master key (${MASTER_KEY_ENV} or ${MASTER_KEY_FILE}) is not the one they were encrypted with, or the data was altered`,
    );
  }
  return JSON.parse(plaintext.toString('utf8')) as T;
}

/**
 * Accepts 64 hex digits or base64 / base64url of exactly 32 bytes. Strict, so that a truncated or
 * mistyped key is refused rather than silently decoded to some other key.
 */
export function parseMasterKey(text: string, origin: string = MASTER_KEY_ENV): Buffer {
  const value = text.trim();
  const hint = `${origin} must be ${MASTER_KEY_BYTES} random bytes, as base64 or hex (generate one with: openssl rand -base64 32)`;
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const normalised = value.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
    const key = Buffer.from(normalised, 'base64');
    if (key.length === MASTER_KEY_BYTES && key.toString('base64').replace(/=+$/, '') === normalised) return key;
    throw new MasterKeyError(`${hint}; the value given decodes to ${key.length} bytes`);
  }
  throw new MasterKeyError(`${hint}; the value given is neither`);
}

export interface MasterKey {
  key: Buffer;
  /** true when this call created the key file: the caller should warn that losing it loses the credentials */
  generated: boolean;
  source: 'env' | 'file';
  /** the key file, when source is 'file' */
  path?: string;
}

/**
 * RAPPORT_MASTER_KEY when set; otherwise <dataDir>/master.key, created once so that a local install works
 * without configuration and keeps decrypting what it stored before.
 */
export function loadMasterKey(opts: { env?: NodeJS.ProcessEnv; dataDir?: string } = {}): MasterKey {
  const env = opts.env ?? process.env;
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return { key: parseMasterKey(fromEnv, MASTER_KEY_ENV), generated: false, source: 'env' };
  }
  const dataDir = opts.dataDir ?? env.RAPPORT_DATA_DIR ?? '.data';
  const file = path.resolve(dataDir, MASTER_KEY_FILE);
  const existing = readKeyFile(file);
  if (existing) return { key: existing, generated: false, source: 'file', path: file };

  mkdirSync(path.dirname(file), { recursive: true });
  const key = randomBytes(MASTER_KEY_BYTES);
  // Written aside, then hard-linked into place: link() is atomic and fails if the file exists, so a process
  // starting at the same time never reads a half-written key, and the first key written wins.
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, `${key.toString('base64')}\n`, { mode: 0o600 });
  try {
    linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      const raced = readKeyFile(file);
      if (raced) return { key: raced, generated: false, source: 'file', path: file };
    }
    throw err;
  } finally {
    rmSync(temp, { force: true });
  }
  return { key, generated: true, source: 'file', path: file };
}

function readKeyFile(file: string): Buffer | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return parseMasterKey(text, `The key file ${file} (used because ${MASTER_KEY_ENV} is not set)`);
}
