/**
 * Showing a job as it runs. On a terminal: a live bar with frames (or items), rate and ETA, and a line per worker with
 * what it is on, its CPU and memory. Piped: one plain line per event. With --json: one JSON object per line.
 */
import type { NotificationParams } from '../api/spec/index.js';

type Progress = NotificationParams<'job.progress'>;
type WorkerStats = NotificationParams<'worker.stats'>;

export type ProgressMode = 'tty' | 'plain' | 'json';

export function progressMode(json: boolean, stream: NodeJS.WriteStream = process.stdout): ProgressMode {
  if (json) return 'json';
  return stream.isTTY ? 'tty' : 'plain';
}

function bar(fraction: number, width = 28): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.floor(f * width);
  const part = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'][Math.floor((f * width - full) * 8)] ?? '';
  return `${'█'.repeat(full)}${full < width ? part : ''}`.padEnd(width, '░').slice(0, width);
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '--';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class ProgressView {
  private progress: Progress | undefined;
  private workers = new Map<string, { cpuPercent: number; rssMB: number }>();
  private drawnLines = 0;
  private lastPlainDone = -1;
  private lastPlainKey: number | undefined;
  private lastPlacement: string | undefined;
  private readonly started = Date.now();

  constructor(
    private readonly mode: ProgressMode,
    private readonly title: string,
    private readonly unitName: string,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {}

  onProgress(p: Progress): void {
    this.progress = p;
    if (this.mode === 'json') {
      this.json({ event: 'job.progress', ...p });
      return;
    }
    if (this.mode === 'plain') {
      const finished = p.done + p.skipped + p.failed;
      // A unit that failed or was skipped moves the count but not `last`: print each finished unit once.
      if (finished !== this.lastPlainDone && p.last && p.last.key !== this.lastPlainKey) {
        this.out.write(`${p.last.label} done (${finished}/${p.total})${p.last.output ? `: ${p.last.output}` : ''}\n`);
        this.lastPlainKey = p.last.key;
      }
      this.lastPlainDone = finished;
      // Once per decision: a memory note's numbers move with free memory, the part before its colon does not.
      const decision = p.placement?.split(':')[0];
      if (p.placement && decision !== this.lastPlacement) this.out.write(`workers: ${p.placement}\n`);
      this.lastPlacement = decision;
      return;
    }
    this.draw();
  }

  onWorkers(stats: WorkerStats): void {
    this.workers = new Map(stats.workers.map((w) => [w.id, { cpuPercent: w.cpuPercent, rssMB: w.rssMB }]));
    if (this.mode === 'tty') this.draw();
  }

  onState(state: string, error?: string): void {
    if (this.mode === 'json') this.json({ event: 'job.state', state, error });
    else if (this.mode === 'plain') this.out.write(`job ${state}${error ? `: ${error}` : ''}\n`);
  }

  message(text: string): void {
    if (this.mode === 'json') return;
    this.clear();
    this.out.write(`${text}\n`);
    this.draw();
  }

  /** Leaves the last drawing on screen and moves below it. */
  finish(): void {
    if (this.mode === 'tty' && this.progress) {
      this.draw(true);
      this.drawnLines = 0;
    }
  }

  private json(obj: unknown) {
    this.out.write(`${JSON.stringify(obj)}\n`);
  }

  private clear() {
    if (this.mode !== 'tty' || this.drawnLines === 0) return;
    this.out.write(`\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }

  private draw(final = false) {
    if (this.mode !== 'tty' || !this.progress) return;
    const p = this.progress;
    const finished = p.done + p.skipped + p.failed;
    const lines: string[] = [];
    const rate = p.unitsPerSecond > 0 ? `${p.unitsPerSecond.toFixed(2)} ${this.unitName}/s` : '';
    const eta = final ? `in ${duration((Date.now() - this.started) / 1000)}` : p.etaSeconds !== null ? `ETA ${duration(p.etaSeconds)}` : '';
    const extras = [p.skipped ? `${p.skipped} skipped` : '', p.failed ? `${p.failed} failed` : ''].filter(Boolean).join(', ');
    lines.push(
      `${this.title} ${bar(p.total ? finished / p.total : 0)} ${finished}/${p.total} ${this.unitName}  ${rate}  ${eta}${extras ? `  (${extras})` : ''}`,
    );
    if (!final) {
      for (const r of p.running) {
        const w = this.workers.get(r.worker);
        const load = w ? `  CPU ${String(Math.round(w.cpuPercent)).padStart(3)}%  ${String(w.rssMB).padStart(5)} MB` : '';
        const secs = (Date.now() - Date.parse(r.startedAt)) / 1000;
        const samples = r.samples ? `  sample ${r.samples.done}/${r.samples.total}` : '';
        lines.push(`  ${r.worker.padEnd(4)} ${r.label.padEnd(18)} ${duration(secs).padStart(5)}${load}${samples}`);
      }
    }
    if (p.nodes && !final) {
      // Pipelines: where each node stands, by id, on one line.
      const marks: Record<string, string> = { done: '✓', failed: '✗', skipped: '-', partial: '~', canceled: '-' };
      lines.push(
        `  nodes: ${Object.entries(p.nodes)
          .map(([id, n]) => `${id} ${marks[n.state] ?? `${n.done}/${n.total}`}`)
          .join('  ')}`,
      );
    }
    if (p.placement && !final) lines.push(`  workers: ${p.placement}`);
    if (p.last?.output) lines.push(`  last: ${p.last.output}${p.last.preview ? `  (preview ${p.last.preview})` : ''}`);
    this.clear();
    const width = this.out.columns || 120;
    this.out.write(`${lines.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l)).join('\n')}\n`);
    this.drawnLines = lines.length;
  }
}
