/**
 * A desktop notification, where the desktop has one (platform.ts: `notify-send` on Linux, `osascript` on macOS, a
 * PowerShell balloon tip on Windows). Fire and forget: a machine without one (a server, a container) just logs that.
 */
import { spawn } from 'node:child_process';
import { backgroundSpawnOptions, notificationCommand } from '../../platform.js';

export function notifyDesktop(title: string, body: string, onProblem: (message: string) => void): void {
  const command = notificationCommand(title, body);
  try {
    const child = spawn(command[0]!, command.slice(1), { stdio: 'ignore', ...backgroundSpawnOptions() });
    child.on('error', (err) => onProblem(`no desktop notification (${command[0]}: ${err.message}): ${body}`));
    child.unref();
  } catch (err) {
    onProblem(`no desktop notification (${(err as Error).message}): ${body}`);
  }
}
