import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressView } from '../../sidecar/cli/progress.js';

/** A terminal stand-in that keeps what the view writes (the view only writes text and reads isTTY and columns). */
function terminal() {
  const chunks: string[] = [];
  const out = { isTTY: true, columns: 200, write: (s: string) => chunks.push(s) > 0 } as unknown as NodeJS.WriteStream;
  return { out, text: () => chunks.join('') };
}

const progress = (done: number, last?: { key: number; label: string; output?: string; preview?: string }) => ({
  jobId: 'j-1',
  kind: 'render' as const,
  state: 'running' as const,
  total: 4,
  done,
  skipped: 0,
  failed: 0,
  running: [],
  unitsPerSecond: 1,
  etaSeconds: 2,
  last,
});

describe('ProgressView', () => {
  it("names the newest frame on the bar's last: line, with its preview", () => {
    const t = terminal();
    const view = new ProgressView('tty', 'render', 'frames', t.out);
    view.onProgress(progress(1, { key: 1, label: 'frame 1', output: '/r/0001.png', preview: '/r/.previews/0001.png' }));
    view.onProgress(progress(2, { key: 2, label: 'frame 2', output: '/r/0002.png', preview: '/r/.previews/0002.png' }));
    const lastLines = t
      .text()
      .split('\n')
      .filter((l) => l.includes('last:'));
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape is what is being stripped (cursor up, clear).
    const redraw = /^\u001b\[\d+A\u001b\[0J/;
    assert.equal(lastLines.at(-1)?.trim().replace(redraw, ''), 'last: /r/0002.png  (preview /r/.previews/0002.png)');
  });

  it('passes the preview path through in --json events', () => {
    const t = terminal();
    const view = new ProgressView('json', 'render', 'frames', t.out);
    view.onProgress(progress(1, { key: 1, label: 'frame 1', output: '/r/0001.png', preview: '/r/.previews/0001.png' }));
    const event = JSON.parse(t.text().trim());
    assert.equal(event.event, 'job.progress');
    assert.equal(event.last.preview, '/r/.previews/0001.png');
  });
});
