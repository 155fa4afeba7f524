/**
 * A desktop notification, where the desktop has one: `notify-send` (Linux, libnotify), `osascript` (macOS), a
 * PowerShell balloon tip (Windows). Fire and forget: a machine without one (a server, a container) just logs that.
 */
import { spawn } from 'node:child_process';

export function notifyDesktop(title: string, body: string, onProblem: (message: string) => void): void {
  const command = desktopCommand(title, body, process.platform);
  try {
    const child = spawn(command[0]!, command.slice(1), { stdio: 'ignore', detached: process.platform !== 'win32' });
    child.on('error', (err) => onProblem(`no desktop notification (${command[0]}: ${err.message}): ${body}`));
    child.unref();
  } catch (err) {
    onProblem(`no desktop notification (${(err as Error).message}): ${body}`);
  }
}

export function desktopCommand(title: string, body: string, platform: NodeJS.Platform): string[] {
  if (platform === 'darwin') {
    const q = (s: string) => JSON.stringify(s); // AppleScript strings take the same escapes as JSON for " and \
    return ['osascript', '-e', `display notification ${q(body)} with title ${q(title)}`];
  }
  if (platform === 'win32') {
    const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
    const script = [
      'Add-Type -AssemblyName System.Windows.Forms',
      '$n = New-Object System.Windows.Forms.NotifyIcon',
      '$n.Icon = [System.Drawing.SystemIcons]::Information',
      '$n.Visible = $true',
      `$n.ShowBalloonTip(10000, ${q(title)}, ${q(body)}, [System.Windows.Forms.ToolTipIcon]::Info)`,
      'Start-Sleep -Seconds 10',
      '$n.Dispose()',
    ].join('; ');
    return ['powershell', '-NoProfile', '-NonInteractive', '-Command', script];
  }
  return ['notify-send', '--app-name=Blender Sidecar', title, body];
}
