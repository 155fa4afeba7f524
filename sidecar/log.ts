/** The sidecar's log: one line per event on stderr, and the same lines in the state folder's sidecar.log. */
import { appendFileSync } from 'node:fs';
import { PRIVATE_FILE_MODE } from './platform.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function createLogger(options: { level?: LogLevel; file?: string; stderr?: boolean } = {}): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = (level: LogLevel, message: string) => {
    if (ORDER[level] < min) return;
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}\n`;
    if (options.stderr !== false) process.stderr.write(line);
    if (options.file) {
      try {
        appendFileSync(options.file, line, { mode: PRIVATE_FILE_MODE });
      } catch {
        // The log file is a convenience; losing a line must not take the sidecar down.
      }
    }
  };
  return {
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}
