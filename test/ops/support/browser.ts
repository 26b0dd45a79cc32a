import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

// Debian's chromium, driven through playwright-core: no browser download, so the UI tests run offline
// and on the same browser CI installs (scripts/ensure-install.mjs).

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The chromium to use, installing Debian's package when it is missing and we may; otherwise the reason
 * it cannot be had, for the skip message.
 */
export function findChromium(): { path: string } | { missing: string } {
  if (executable(CHROMIUM_PATH)) return { path: CHROMIUM_PATH };
  if (process.getuid?.() !== 0 || !executable('/usr/bin/apt-get')) {
    return { missing: `${CHROMIUM_PATH} is absent and cannot be installed here (needs root and apt-get): apt-get install chromium` };
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env });
  const install =
    update.status === 0 && spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'chromium'], { stdio: 'ignore', env });
  if (install && install.status === 0 && executable(CHROMIUM_PATH)) return { path: CHROMIUM_PATH };
  return { missing: `${CHROMIUM_PATH} is absent and apt-get install chromium failed` };
}

// Everything a fresh profile would otherwise do on its own (updates, sync, QUIC probes) is off: the
// test talks to 127.0.0.1 only, and must not wait on the network.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A headless chromium on a profile of its own, removed on close. */
export async function launchChromium(executablePath: string): Promise<Browser> {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'rapport-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1000 },
      timezoneId: 'UTC',
    });
    return {
      context,
      async close() {
        await context.close().catch(() => undefined);
        rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
}
