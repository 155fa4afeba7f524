/**
 * Structured alerts: what is wrong, where, since when, and what to do. Each has a key, so a condition that persists
 * (a disk still nearly full) updates one alert instead of raising a new one every check; `resolve` ends it.
 * New and updated alerts go out as `alert` notifications; `alert.list` lists them, newest first.
 */
export type AlertLevel = 'INFO' | 'WARN' | 'ERROR';

export interface Alert {
  id: number;
  key: string;
  level: AlertLevel;
  /** What happened, one sentence. */
  what: string;
  /** Where: a job, a worker, a path. */
  where: string;
  /** What to do about it. */
  action: string;
  since: string;
  updatedAt: string;
  count: number;
  resolvedAt?: string;
}

export interface RaiseAlert {
  key: string;
  level: AlertLevel;
  what: string;
  where: string;
  action: string;
}

const KEEP = 500;

export class AlertCenter {
  private readonly alerts: Alert[] = [];
  private nextId = 1;

  constructor(private readonly publish: (alert: Alert) => void) {}

  raise(a: RaiseAlert): Alert {
    const now = new Date().toISOString();
    const open = this.alerts.find((x) => x.key === a.key && !x.resolvedAt);
    if (open) {
      Object.assign(open, { level: a.level, what: a.what, where: a.where, action: a.action, updatedAt: now, count: open.count + 1 });
      this.publish(open);
      return open;
    }
    const alert: Alert = { id: this.nextId++, ...a, since: now, updatedAt: now, count: 1 };
    this.alerts.push(alert);
    if (this.alerts.length > KEEP) this.alerts.splice(0, this.alerts.length - KEEP);
    this.publish(alert);
    return alert;
  }

  resolve(key: string): void {
    const open = this.alerts.find((x) => x.key === key && !x.resolvedAt);
    if (!open) return;
    open.resolvedAt = new Date().toISOString();
    open.updatedAt = open.resolvedAt;
    this.publish(open);
  }

  isOpen(key: string): boolean {
    return this.alerts.some((x) => x.key === key && !x.resolvedAt);
  }

  list(options: { levels?: AlertLevel[]; includeResolved?: boolean; limit?: number } = {}): Alert[] {
    return this.alerts
      .filter((a) => (options.includeResolved || !a.resolvedAt) && (!options.levels || options.levels.includes(a.level)))
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.id - a.id)
      .slice(0, options.limit ?? 100);
  }
}
