import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceState, SandboxInstance } from './store';

// One JSON file per instance. Saves are debounced, because the benchmark changes state thousands of times a
// second, and atomic (write a temporary file, then rename), so a crash mid-save leaves the previous file whole.

const DEBOUNCE_MS = 1000;

export class InstanceFiles {
  private timers = new Map<string, NodeJS.Timeout>();
  private writing = new Map<string, Promise<void>>();
  private dirty = new Set<string>();

  constructor(readonly dir: string) {}

  private file(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  async loadAll(): Promise<InstanceState[]> {
    await mkdir(this.dir, { recursive: true });
    const states: InstanceState[] = [];
    for (const entry of await readdir(this.dir)) {
      if (!entry.endsWith('.json')) continue;
      const state = JSON.parse(await readFile(join(this.dir, entry), 'utf8')) as InstanceState;
      if (state.format === 1) states.push(state);
    }
    return states;
  }

  schedule(instance: SandboxInstance): void {
    this.dirty.add(instance.name);
    if (this.timers.has(instance.name)) return;
    const timer = setTimeout(() => {
      this.timers.delete(instance.name);
      void this.save(instance).catch((err: unknown) => {
        process.emitWarning(`sandbox: saving instance ${instance.name} failed: ${String(err)}`);
      });
    }, DEBOUNCE_MS);
    timer.unref();
    this.timers.set(instance.name, timer);
  }

  /** Writes the instance now if it changed; waits for a save already under way first. */
  async save(instance: SandboxInstance): Promise<void> {
    for (let running = this.writing.get(instance.name); running; running = this.writing.get(instance.name)) {
      await running.catch(() => {});
    }
    if (!this.dirty.has(instance.name)) return;
    this.dirty.delete(instance.name);
    const target = this.file(instance.name);
    const temporary = `${target}.${process.pid}.tmp`;
    const job = (async () => {
      await mkdir(this.dir, { recursive: true });
      await writeFile(temporary, JSON.stringify(instance.toState()));
      await rename(temporary, target);
    })();
    this.writing.set(instance.name, job);
    try {
      await job;
    } finally {
      if (this.writing.get(instance.name) === job) this.writing.delete(instance.name);
    }
  }

  async flush(instances: Iterable<SandboxInstance>): Promise<void> {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([...instances].map((instance) => this.save(instance)));
  }
}
