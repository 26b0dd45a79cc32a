// docker-compose.yml cannot be run here (no Docker engine), so its shape is checked against the code instead.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cliSearchAttributeType, projectRoot } from '../scripts/lib/temporal';
import { searchAttributes } from '../workflows/search-attributes';

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  environment?: string[] | Record<string, string | number | boolean | null>;
  configs?: (string | { source: string; target?: string })[];
}

interface Compose {
  services: Record<string, Service>;
  configs?: Record<string, { content?: string; file?: string }>;
}

const composeFile = path.join(projectRoot, 'docker-compose.yml');
const compose = parse(readFileSync(composeFile, 'utf8')) as Compose;
const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

const appServices = ['worker', 'api'];
const requiredEnv = ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'RAPPORT_MASTER_KEY'];

function envOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => [e.split('=')[0], e.slice(e.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function dependsOn(service: Service): string[] {
  const deps = service.depends_on ?? [];
  return Array.isArray(deps) ? deps : Object.keys(deps);
}

function commandText(service: Service): string {
  const parts = [service.entrypoint ?? [], service.command ?? []].flat();
  return parts.join('\n');
}

/** Every file of the engine's own source, for "does the code really read this variable" checks. */
function sourceText(): string {
  const skip = new Set(['node_modules', '.data', '.cache', '.git', 'test', 'scripts']);
  let text = '';
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (skip.has(name)) continue;
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts')) text += readFileSync(full, 'utf8');
    }
  };
  walk(projectRoot);
  return text;
}

describe('docker-compose.yml', () => {
  it('gives every service an image or a build, and builds from a Dockerfile that exists', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.image ?? service.build, name).toBeTruthy();
      if (service.build) {
        const context = typeof service.build === 'string' ? service.build : (service.build.context ?? '.');
        const dockerfile = typeof service.build === 'string' ? 'Dockerfile' : (service.build.dockerfile ?? 'Dockerfile');
        expect(existsSync(path.join(projectRoot, context, dockerfile)), `${name}: ${dockerfile}`).toBe(true);
      }
    }
  });

  it('only depends on services it defines', () => {
    const names = Object.keys(compose.services);
    for (const [name, service] of Object.entries(compose.services)) {
      for (const dep of dependsOn(service)) expect(names, `${name} depends on ${dep}`).toContain(dep);
    }
  });

  it('only mounts configs it defines', () => {
    const defined = Object.keys(compose.configs ?? {});
    for (const [name, service] of Object.entries(compose.services)) {
      for (const c of service.configs ?? []) expect(defined, name).toContain(typeof c === 'string' ? c : c.source);
    }
  });

  it('runs the worker and the API through npm scripts that exist', () => {
    for (const name of appServices) {
      const service = compose.services[name];
      expect(service, name).toBeDefined();
      const command = Array.isArray(service.command) ? service.command : String(service.command ?? '').split(/\s+/);
      expect(command.slice(0, 2), name).toEqual(['npm', 'run']);
      expect(Object.keys(pkg.scripts), name).toContain(command[2]);
    }
    expect(compose.services.worker.command).toEqual(['npm', 'run', 'worker']);
    expect(compose.services.api.command).toEqual(['npm', 'run', 'api']);
  });

  it('sets the variables the code reads', () => {
    const source = sourceText();
    for (const variable of requiredEnv) expect(source, `code reading ${variable}`).toContain(variable);
    for (const name of appServices) {
      const env = envOf(compose.services[name]);
      for (const variable of requiredEnv) expect(env[variable], `${name}.${variable}`).toBeTruthy();
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
      // The worker and the API must use the application database, not one of Temporal's.
      expect(env.DATABASE_URL).toMatch(/@postgresql:5432\/rapport$/);
      expect(dependsOn(compose.services[name])).toEqual(expect.arrayContaining(['postgresql', 'temporal-setup']));
    }
    // The API binds to 127.0.0.1 unless told otherwise, which a published port cannot reach.
    expect(envOf(compose.services.api).HOST).toBe('0.0.0.0');
  });

  it('creates the three databases in PostgreSQL', () => {
    const init = compose.configs?.['postgres-init']?.content ?? '';
    for (const db of ['temporal', 'temporal_visibility', 'rapport']) {
      expect(init).toMatch(new RegExp(`CREATE DATABASE ${db};`, 'i'));
    }
    expect(compose.services.postgresql.image).toMatch(/^postgres:16/);
  });

  it('registers exactly the search attributes of workflows/search-attributes.ts', () => {
    const script = commandText(compose.services['temporal-setup']);
    const registered = [...script.matchAll(/search-attribute create\b([^\n]*)/g)].flatMap(([, args]) => {
      const type = /--type\s+(\S+)/.exec(args)?.[1];
      return [...args.matchAll(/--name\s+(\S+)/g)].map(([, name]) => `${name}=${type}`);
    });
    const expected = searchAttributes.map((k) => `${k.name}=${cliSearchAttributeType(k.type)}`);
    expect(registered.sort()).toEqual(expected.sort());
  });

  it('enables the activity APIs on the server and runs a UI that offers them', () => {
    const dynamic = parse(compose.configs?.['temporal-dynamic-config']?.content ?? '') as Record<string, { value: unknown }[]>;
    expect(dynamic['frontend.activityAPIsEnabled']?.[0]?.value).toBe(true);
    expect(dynamic['limit.maxIDLength']?.[0]?.value).toBeTypeOf('number');
    const temporal = compose.services.temporal;
    expect(envOf(temporal).DYNAMIC_CONFIG_FILE_PATH).toBe('config/dynamicconfig/rapport.yaml');
    expect(temporal.configs).toContainEqual(
      expect.objectContaining({ source: 'temporal-dynamic-config', target: '/etc/temporal/config/dynamicconfig/rapport.yaml' }),
    );
    const [major, minor] = (compose.services['temporal-ui'].image ?? '').split(':')[1].split('.').map(Number);
    expect(major > 2 || (major === 2 && minor >= 42)).toBe(true);
  });

  const composeCli = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' });
  it.skipIf(composeCli.status !== 0)('is accepted by `docker compose config`', () => {
    const res = spawnSync('docker', ['compose', '-f', composeFile, 'config', '-q'], {
      cwd: projectRoot,
      encoding: 'utf8',
      // Required at run time (the file says so); any value does for validation.
      env: { ...process.env, RAPPORT_MASTER_KEY: 'validation-only' },
    });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
  });
});
