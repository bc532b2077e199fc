// A one-line progress bar on stderr, drawn only when stderr is a terminal
// (so pipes and logs stay clean).

import type { CliContext } from '../cli.js';

export interface ProgressBar {
  update(done: number, total: number, note?: string): void;
  done(): void;
}

export function progressBar(ctx: CliContext, label: string): ProgressBar {
  const tty = ctx.io.stderrIsTTY;
  const t0 = Date.now();
  let last = 0;
  return {
    update(done, total, note = '') {
      const now = Date.now();
      if (!tty || (now - last < 100 && done < total)) return;
      last = now;
      const width = 30;
      const fill = total === 0 ? width : Math.round((done / total) * width);
      const secs = ((now - t0) / 1000).toFixed(0);
      ctx.io.stderr(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total} ${secs}s ${note}\x1b[K`);
    },
    done() {
      if (tty) ctx.io.stderr('\r\x1b[K');
    },
  };
}
