/**
 * Jobs on disk, one JSON file each under `<state>/jobs/`, replaced atomically on every change and fsync'd on state
 * changes. After a crash, the files say which jobs were unfinished; frames are checked against the disk anyway, so a
 * progress write that was lost costs nothing but a look at the output folder.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-file.js';
import type { JobRecord } from './job.js';

export class JobStore {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'jobs');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  save(job: JobRecord, options: { durable?: boolean } = {}): void {
    writeFileAtomic(join(this.dir, `${job.id}.json`), JSON.stringify(job), { fsync: options.durable ?? false });
  }

  loadAll(onDamaged: (file: string, problem: string) => void): JobRecord[] {
    const jobs: JobRecord[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json')) {
        if (name.endsWith('.tmp')) rmSync(join(this.dir, name), { force: true });
        continue;
      }
      try {
        jobs.push(JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as JobRecord);
      } catch (err) {
        onDamaged(name, (err as Error).message);
      }
    }
    return jobs.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  remove(id: string): void {
    rmSync(join(this.dir, `${id}.json`), { force: true });
  }
}
