// prestart / pretest hook: makes `npm start` and `npm test` work as the first command in a fresh clone.
// Plain Node without dependencies, because it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => console.log(`[ensure-install] ${msg}`);

// npm sets this to "pretest" / "prestart"; run by hand, everything is checked.
const purpose = (process.env.npm_lifecycle_event ?? '').replace(/^pre/, '') || 'all';

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

function npm(args, opts = {}) {
  // Under npm, reuse the npm that runs us rather than whichever is first on PATH.
  const npmCli = process.env.npm_execpath;
  const [cmd, argv] = npmCli && npmCli.endsWith('.js') ? [process.execPath, [npmCli, ...args]] : ['npm', args];
  say(`npm ${args.join(' ')}`);
  return spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
}

function failed(args, res) {
  if (res.stderr) process.stderr.write(res.stderr);
  console.error(`[ensure-install] npm ${args.join(' ')} failed (${res.error?.message ?? `exit ${res.status}`})`);
  process.exit(res.status || 1);
}

function ensureNodeModules() {
  const lock = path.join(root, 'package-lock.json');
  // npm rewrites this file on every install, so its age is the age of the installed tree.
  const installed = mtime(path.join(root, 'node_modules', '.package-lock.json'));
  const hasLock = existsSync(lock);
  const wanted = hasLock ? mtime(lock) : mtime(path.join(root, 'package.json'));
  if (installed !== null && wanted !== null && installed >= wanted) return;
  say(installed === null ? 'node_modules is missing' : 'node_modules is older than the lock file');
  const install = ['install', '--no-audit', '--no-fund'];
  if (!hasLock) {
    const res = npm(install, { stdio: 'inherit' });
    if (res.status !== 0) failed(install, res);
    return;
  }
  const ci = ['ci', '--no-audit', '--no-fund'];
  const res = npm(ci, { stdio: ['ignore', 'inherit', 'pipe'] });
  if (res.status === 0) return;
  // A registry without some other platform's optional packages (say @swc/core-darwin-arm64) writes a lock file
  // without them, which npm ci then calls out of sync although every package this machine needs is pinned.
  // npm install still honours the pinned versions.
  if (!/in sync/.test(res.stderr ?? '')) failed(ci, res);
  say('npm ci refused the lock file as out of sync with package.json; installing with npm install instead');
  const retry = npm(install, { stdio: 'inherit' });
  if (retry.status !== 0) failed(install, retry);
}

function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

function portAnswers(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Debian's cluster defaults to password auth on TCP; the tests connect as postgres without one. */
function trustLocalTcp() {
  if (!existsSync('/etc/postgresql')) return;
  for (const version of readdirSync('/etc/postgresql')) {
    const hba = `/etc/postgresql/${version}/main/pg_hba.conf`;
    if (!existsSync(hba)) continue;
    const text = readFileSync(hba, 'utf8');
    const line = 'host all all 127.0.0.1/32 trust';
    if (text.includes(line)) continue;
    writeFileSync(hba, `# added by rapport scripts/ensure-install.mjs for the test suite\n${line}\n${text}`);
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'reload'], { stdio: 'ignore' });
    say(`PostgreSQL ${version}: trusting TCP connections from 127.0.0.1 (fresh install for tests)`);
  }
}

/**
 * System packages the tests or the app need, installed with apt-get when missing and we are root.
 * Add an entry per tool (e.g. radicale, chromium) as the suite grows.
 */
const systemPackages = [
  {
    name: 'PostgreSQL',
    for: ['test'],
    apt: ['postgresql'],
    // A server already answering (say a CI service container) is as good as a local install.
    present: async () => onPath('pg_ctlcluster') || onPath('postgres') || (await portAnswers(5432)),
    afterInstall: trustLocalTcp,
  },
  {
    // The CardDAV connector's tests run against a real server rather than a fake.
    name: 'Radicale',
    for: ['test', 'bench'],
    apt: ['radicale'],
    present: async () => onPath('radicale'),
  },
  {
    // Only the CardDAV benchmark's peer; a `prebench` hook (or running this script by hand) installs it.
    name: 'vdirsyncer',
    for: ['bench'],
    apt: ['vdirsyncer'],
    present: async () => onPath('vdirsyncer'),
  },
  {
    // The Temporal UI test drives Debian's chromium through playwright-core, which downloads no browser.
    name: 'Chromium',
    for: ['test'],
    apt: ['chromium', 'chromium-driver'],
    present: async () => existsSync('/usr/bin/chromium') && onPath('chromedriver'),
  },
];

async function ensureSystemPackages() {
  const missing = [];
  for (const pkg of systemPackages) {
    if (purpose !== 'all' && !pkg.for.includes(purpose)) continue;
    if (!(await pkg.present())) missing.push(pkg);
  }
  if (missing.length === 0) return;
  const names = missing.map((p) => p.name).join(', ');
  const aptNames = missing.flatMap((p) => p.apt);
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !onPath('apt-get')) {
    // Not fatal: the step that needs the tool explains what is wrong in its own terms.
    say(`missing: ${names}. Install it first, e.g. \`sudo apt-get install -y ${aptNames.join(' ')}\`.`);
    return;
  }
  say(`installing ${names} (apt-get install ${aptNames.join(' ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  const install =
    update.status === 0 &&
    spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...aptNames], { stdio: 'inherit', env });
  if (!install || install.status !== 0) {
    console.error(`[ensure-install] apt-get install ${aptNames.join(' ')} failed`);
    process.exit(1);
  }
  for (const pkg of missing) pkg.afterInstall?.();
}

ensureNodeModules();
await ensureSystemPackages();
