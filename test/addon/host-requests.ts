/**
 * What the GUI suites share outside Blender: running the xdotool or ImageMagick `import` command a chrooted Blender
 * asked for (it has neither program: it writes `<png>.request` with the command, its DISPLAY and XAUTHORITY, and
 * waits for the file to go), and counting the colours of a screenshot to tell a blank capture from a real one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

export function have(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Runs the command asked for in `out`.request, if there is one; a failure is written to `out`.request.failed. */
export function answerHostRequest(out: string): void {
  const request = `${out}.request`;
  if (!existsSync(request)) return;
  const asked = JSON.parse(readFileSync(request, 'utf8')) as { display?: string; xauthority?: string; command: string[] };
  const [program, ...args] = asked.command;
  const env = { ...process.env, DISPLAY: asked.display ?? '', ...(asked.xauthority ? { XAUTHORITY: asked.xauthority } : {}) };
  const r =
    program === 'xdotool' || program === 'import'
      ? spawnSync(program, args, { env, timeout: 30_000, encoding: 'utf8' })
      : { status: 1, stderr: `${program} is not one of the commands a GUI test may ask for` };
  if (r.status !== 0) writeFileSync(`${request}.failed`, `${asked.command.join(' ')} exited ${r.status}: ${r.stderr}`);
  rmSync(request, { force: true });
}

/** Distinct colours among sampled pixels: a blank or black capture has one or two. */
export function colours(path: string): number {
  const png = PNG.sync.read(readFileSync(path));
  const seen = new Set<number>();
  for (let i = 0; i < png.data.length; i += 4 * 97) seen.add((png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!);
  return seen.size;
}
