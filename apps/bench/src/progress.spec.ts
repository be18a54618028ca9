import { describe, expect, it } from 'vitest';
import { startProgress, type ProgressStream } from './progress';

function fakeStream(isTTY: boolean): ProgressStream & { text: string } {
  return {
    isTTY,
    columns: 200,
    text: '',
    write(chunk) {
      this.text += chunk;
    },
  };
}

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('startProgress', () => {
  it('redraws one line in place on a terminal, then ends it with the summary', () => {
    const stream = fakeStream(true);
    const { now, advance } = clock();
    const progress = startProgress({ label: 'drain', total: 1000, stream, now });
    advance(150);
    progress.update(500);
    advance(50);
    progress.update(600); // within 100 ms of the last redraw: not drawn
    advance(1000);
    progress.finish('9,000 readings/s');
    expect(stream.text.split('\r\x1b[2K')).toEqual([
      '',
      'drain [--------------------]   0%   0.0 s 0/1,000 readings',
      'drain [##########----------]  50%   0.1 s 500/1,000 readings',
      'drain: 9,000 readings/s (1.2 s)\n',
    ]);
  });

  it('prints a plain line at each tenth passed, at most every fifth of the interval, when not a terminal', () => {
    const stream = fakeStream(false);
    const { now, advance } = clock();
    const progress = startProgress({ label: 'store', total: 100, stream, now, plainIntervalMs: 10_000 });
    for (let done = 5; done <= 100; done += 5) {
      advance(500);
      progress.update(done);
    }
    progress.finish('done');
    expect(stream.text).toBe(
      [
        'store: 0% 0/100 readings, 0.0 s',
        'store: 20% 20/100 readings, 2.0 s',
        'store: 40% 40/100 readings, 4.0 s',
        'store: 60% 60/100 readings, 6.0 s',
        'store: 80% 80/100 readings, 8.0 s',
        'store: done (10.0 s)',
        '',
      ].join('\n'),
    );
  });

  it('follows elapsed time when there is no total, and says nothing more once aborted', () => {
    const stream = fakeStream(true);
    const { now, advance } = clock();
    const progress = startProgress({ label: 'load', seconds: 4, stream, now });
    advance(1000);
    progress.update(0);
    progress.abort();
    progress.finish('ignored');
    expect(stream.text).toBe(
      '\r\x1b[2Kload [--------------------]   0%   0.0 s\r\x1b[2Kload [#####---------------]  25%   1.0 s\r\x1b[2K',
    );
  });
});
