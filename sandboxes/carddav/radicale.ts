import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type RequestListener } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FaultQueue } from '../kit/faults';
import { listen, type Listening } from '../kit/listen';

// CardDAV's sandbox is a real server: Debian's radicale 3.1.8, for the connector's tests, the harness and the
// benchmark alike. Its own port on 127.0.0.1, its own storage folder and htpasswd file, stopped (and its folder
// removed) after.
//
// Optionally behind a small proxy that can answer the next request with a chosen status (429 + Retry-After,
// 503), which Radicale itself never sends: that is how the tests see throttling from a real server's client path.

export interface RadicaleOptions {
  /** Put a fault-injecting proxy in front (url then points at it). */
  proxy?: boolean;
  /** Radicale's server.max_content_length: larger request bodies are refused with 413. */
  maxContentLength?: number;
  /** Keep the storage folder after stop() (the benchmark copies it). */
  keep?: boolean;
  /** An existing folder to use as Radicale's storage (collection-root lives inside). */
  storage?: string;
}

export interface Fault {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface Radicale {
  /** The base URL clients use (the proxy's when there is one). */
  url: string;
  /** Radicale's own URL. */
  directUrl: string;
  /** The storage folder (holds collection-root/). */
  storage: string;
  addUser(name: string, password: string): void;
  /** MKCOL an address book (RFC 5689 extended MKCOL) for a user; returns its URL. */
  makeAddressBook(user: string, password: string, slug: string, displayName?: string): Promise<string>;
  /** Writes an address book straight into the storage folder: far faster than PUT, and how a read-only book is made. */
  writeAddressBook(user: string, slug: string, cards: { name: string; vcard: string }[], displayName?: string): string;
  /** The next request the proxy receives gets this answer instead of reaching Radicale. */
  failNext(fault: Fault): void;
  /** Requests that reached Radicale through the proxy, by method. */
  requests: Record<string, number>;
  stop(): Promise<void>;
}

export function radicaleAvailable(): boolean {
  return spawnSync('radicale', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilAnswers(url: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`radicale exited with ${child.exitCode}:\n${readFileSync(log, 'utf8').slice(-2000)}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`radicale did not answer at ${url}:\n${readFileSync(log, 'utf8').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

// Same shape as Radicale's default owner_only rights, except books whose name starts with "readonly", which
// their owner may read but not write: how the tests meet a 403 on writes.
const RIGHTS = `
[readonly-books]
user: .+
collection: {user}/readonly[^/]*
permissions: r

[root]
user: .+
collection:
permissions: R

[principal]
user: .+
collection: {user}
permissions: RW

[books]
user: .+
collection: {user}/[^/]+
permissions: rw
`;

export async function startRadicale(opts: RadicaleOptions = {}): Promise<Radicale> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-radicale-'));
  const storage = opts.storage ?? path.join(dir, 'storage');
  mkdirSync(storage, { recursive: true });
  const users = path.join(dir, 'users');
  writeFileSync(users, '');
  const rights = path.join(dir, 'rights');
  writeFileSync(rights, RIGHTS);
  const log = path.join(dir, 'radicale.log');
  const port = await freePort();
  const directUrl = `http://127.0.0.1:${port}`;
  const args = [
    '-C', '/dev/null',
    '--server-hosts', `127.0.0.1:${port}`,
    // Plain passwords: Debian's radicale has no bcrypt module unless python3-bcrypt/passlib are installed.
    '--auth-type', 'htpasswd',
    '--auth-htpasswd-filename', users,
    '--auth-htpasswd-encryption', 'plain',
    // The default second of delay after a wrong password only slows the tests down.
    '--auth-delay', '0',
    '--rights-type', 'from_file',
    '--rights-file', rights,
    '--storage-filesystem-folder', storage,
    '--logging-level', 'warning',
    ...(opts.maxContentLength ? ['--server-max-content-length', String(opts.maxContentLength)] : []),
  ];
  const out = openSync(log, 'a');
  const child = spawn('radicale', args, { stdio: ['ignore', out, out] });
  await waitUntilAnswers(directUrl, child, log);

  let proxy: Listening | null = null;
  const faults = new FaultQueue<Fault>();
  const requests: Record<string, number> = {};
  let url = directUrl;
  if (opts.proxy) {
    const forward: RequestListener = (req, res) => {
      const fault = faults.take();
      if (fault) {
        req.resume();
        res.writeHead(fault.status, { 'content-type': 'text/plain', ...fault.headers });
        res.end(fault.body ?? '');
        return;
      }
      requests[req.method ?? 'GET'] = (requests[req.method ?? 'GET'] ?? 0) + 1;
      // Radicale refuses an oversized body from its Content-Length alone and closes the socket unread, which
      // resets the connection under a body still in flight and can lose its 413. Such a body is held back
      // here, so the client always gets Radicale's own answer.
      const declared = Number(req.headers['content-length'] ?? 0);
      const holdBody = opts.maxContentLength !== undefined && declared > opts.maxContentLength;
      const upstream = httpRequest(
        { host: '127.0.0.1', port, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${port}` } },
        (answer: IncomingMessage) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          if (holdBody) answer.on('end', () => upstream.destroy());
        },
      );
      upstream.on('error', () => {
        if (res.headersSent) return;
        res.writeHead(502);
        res.end();
      });
      if (holdBody) {
        req.resume();
        upstream.flushHeaders();
      } else {
        req.pipe(upstream);
      }
    };
    proxy = await listen(forward);
    url = proxy.url;
  }

  return {
    url,
    directUrl,
    storage,
    requests,
    addUser(name, password) {
      appendFileSync(users, `${name}:${password}\n`);
    },
    async makeAddressBook(user, password, slug, displayName) {
      const bookUrl = `${directUrl}/${encodeURIComponent(user)}/${encodeURIComponent(slug)}/`;
      const res = await fetch(bookUrl, {
        method: 'MKCOL',
        headers: {
          authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
          'content-type': 'application/xml; charset=utf-8',
        },
        body:
          '<?xml version="1.0" encoding="utf-8"?>' +
          '<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>' +
          '<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>' +
          `<D:displayname>${(displayName ?? slug).replace(/[<&]/g, (c) => (c === '<' ? '&lt;' : '&amp;'))}</D:displayname>` +
          '</D:prop></D:set></D:mkcol>',
      });
      if (res.status !== 201) throw new Error(`MKCOL ${bookUrl}: ${res.status} ${await res.text()}`);
      return `${url}/${encodeURIComponent(user)}/${encodeURIComponent(slug)}/`;
    },
    writeAddressBook(user, slug, cards, displayName) {
      const folder = path.join(storage, 'collection-root', user, slug);
      mkdirSync(folder, { recursive: true });
      writeFileSync(path.join(folder, '.Radicale.props'), JSON.stringify({ tag: 'VADDRESSBOOK', 'D:displayname': displayName ?? slug }));
      for (const card of cards) writeFileSync(path.join(folder, card.name), card.vcard);
      return `${url}/${encodeURIComponent(user)}/${encodeURIComponent(slug)}/`;
    },
    failNext(fault) {
      if (!proxy) throw new Error('startRadicale({ proxy: true }) is needed to inject faults');
      faults.add(fault);
    },
    async stop() {
      await proxy?.close();
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
