import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { decryptSecret, encryptSecret, loadMasterKey, MasterKeyError, SecretDecryptionError } from '../../db/crypto';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-key-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('credentials encrypted at rest', () => {
  const key = randomBytes(32);
  const secret = { apiToken: 'tok_very_secret', refreshToken: 'r3fr3sh' };

  it('round-trips through a versioned envelope that does not contain the secret', () => {
    const envelope = encryptSecret(secret, key);
    expect(envelope).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(envelope).not.toContain('tok_very_secret');
    expect(decryptSecret(envelope, key)).toEqual(secret);
  });

  it('uses a fresh IV every time', () => {
    expect(encryptSecret(secret, key)).not.toEqual(encryptSecret(secret, key));
  });

  it('refuses a wrong key with a clear error instead of garbage', () => {
    const envelope = encryptSecret(secret, key);
    expect(() => decryptSecret(envelope, randomBytes(32))).toThrow(SecretDecryptionError);
    expect(() => decryptSecret(envelope, randomBytes(32))).toThrow(/master key/);
  });

  it('refuses a tampered envelope and an unknown version', () => {
    const [v, iv, tag, ct] = encryptSecret(secret, key).split(':');
    const flipped = Buffer.from(ct, 'base64');
    flipped[0] ^= 1;
    expect(() => decryptSecret([v, iv, tag, flipped.toString('base64')].join(':'), key)).toThrow(SecretDecryptionError);
    expect(() => decryptSecret(['v9', iv, tag, ct].join(':'), key)).toThrow(/version/);
    expect(() => decryptSecret('v1:abc', key)).toThrow(/Malformed/);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => encryptSecret(secret, randomBytes(16))).toThrow(MasterKeyError);
  });
});

describe('loadMasterKey', () => {
  it('reads RAPPORT_MASTER_KEY as base64 or hex', () => {
    const raw = randomBytes(32);
    const dataDir = tempDir();
    const b64 = loadMasterKey({ env: { RAPPORT_MASTER_KEY: raw.toString('base64') }, dataDir });
    expect(b64).toMatchObject({ generated: false, source: 'env' });
    expect(b64.key.equals(raw)).toBe(true);
    expect(loadMasterKey({ env: { RAPPORT_MASTER_KEY: raw.toString('hex') }, dataDir }).key.equals(raw)).toBe(true);
    expect(loadMasterKey({ env: { RAPPORT_MASTER_KEY: raw.toString('base64url') }, dataDir }).key.equals(raw)).toBe(true);
  });

  it('names RAPPORT_MASTER_KEY when it is malformed', () => {
    const dataDir = tempDir();
    for (const bad of ['not a key', randomBytes(16).toString('base64'), randomBytes(31).toString('hex'), 'abc%']) {
      expect(() => loadMasterKey({ env: { RAPPORT_MASTER_KEY: bad }, dataDir })).toThrow(/RAPPORT_MASTER_KEY/);
    }
  });

  it('generates <dataDir>/master.key once (mode 0600) and reuses it', () => {
    const dataDir = path.join(tempDir(), 'nested');
    const first = loadMasterKey({ env: {}, dataDir });
    expect(first).toMatchObject({ generated: true, source: 'file', path: path.join(dataDir, 'master.key') });
    expect(statSync(first.path!).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(first.path!, 'utf8').trim(), 'base64').equals(first.key)).toBe(true);

    const second = loadMasterKey({ env: {}, dataDir });
    expect(second.generated).toBe(false);
    expect(second.key.equals(first.key)).toBe(true);
    // what the first process encrypted, the next one decrypts
    expect(decryptSecret(encryptSecret({ apiToken: 'x' }, first.key), second.key)).toEqual({ apiToken: 'x' });
  });

  it('prefers RAPPORT_MASTER_KEY over the key file', () => {
    const dataDir = tempDir();
    loadMasterKey({ env: {}, dataDir });
    const raw = randomBytes(32);
    const fromEnv = loadMasterKey({ env: { RAPPORT_MASTER_KEY: raw.toString('base64') }, dataDir });
    expect(fromEnv.source).toBe('env');
    expect(fromEnv.key.equals(raw)).toBe(true);
  });
});
