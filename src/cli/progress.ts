import type { PlanProgress, ProvisionProgress, Redo, RunEvent, Stage } from '../index.js';

/**
 * Renders engine events: a redrawn bar on a terminal, one plain line every few seconds otherwise (CI logs,
 * files), so long runs always show images done, images/s, ETA and errors.
 */
export class ProgressReporter {
  private stage: Stage | undefined;
  private total = 0;
  private done = 0;
  private errors = 0;
  private stageStart = 0;
  private lastDraw = 0;
  private drawnDone = -1;
  private readonly tty: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {
    this.tty = Boolean(stream.isTTY) && !process.env.CI;
  }

  handle = (event: RunEvent): void => {
    if (this.quiet) return;
    if (event.type === 'stage') {
      this.finishLine();
      this.stage = event.stage;
      this.total = event.images;
      this.done = 0;
      this.errors = 0;
      this.drawnDone = -1;
      this.stageStart = performance.now();
      this.lastDraw = 0;
      if (event.stage === 'pca') this.stream.write('pca: merging moments and fitting…\n');
      else if (event.stage === 'commit') this.stream.write('commit: writing manifest.json and _SUCCESS…\n');
      else if (event.shards === 0) this.stream.write(`${event.stage}: nothing to do (all shards already done)\n`);
      return;
    }
    if (event.type === 'progress') {
      this.done += event.images;
      this.errors += event.errors;
      this.draw(false);
    }
  };

  /**
   * Listing and indexing the input before the run starts: at 10^7 keys that takes minutes, and a silent command
   * looks hung. Redrawn on a terminal, a line every 5 s otherwise; `planned()` ends it.
   */
  plan = (progress: PlanProgress): void => {
    if (this.quiet) return;
    const now = performance.now();
    if (now - this.lastDraw < (this.tty ? 100 : 5000)) return;
    this.lastDraw = now;
    const text =
      progress.phase === 'list'
        ? `listing: ${progress.listed.toLocaleString('en-US')} objects${progress.folders > 0 ? `, ${progress.foldersDone}/${progress.folders} folders` : ''}`
        : `indexing ${progress.format}: ${progress.filesDone}/${progress.files} files, ${progress.images.toLocaleString('en-US')} images`;
    this.stream.write(this.tty ? `\r\x1b[K${text}` : `${text}\n`);
    this.planning = true;
  };

  planned(): void {
    if (this.planning && this.tty && !this.quiet) this.stream.write('\r\x1b[K');
    this.planning = false;
    this.lastDraw = 0;
  }

  private planning = false;

  /** A part that did not read back and is redone: one line, so the user knows what was wrong. */
  redo = (redo: Redo): void => {
    if (this.quiet) return;
    this.finishLine();
    this.stream.write(`redo: ${redo.key} ${redo.problem}: its shard is ${redo.stage === 'featurize' ? 'featurized' : 'projected'} again\n`);
  };

  private draw(force: boolean): void {
    const now = performance.now();
    const interval = this.tty ? 100 : 5000;
    if (!force && now - this.lastDraw < interval && this.done < this.total) return;
    this.lastDraw = now;
    this.drawnDone = this.done;
    const seconds = (now - this.stageStart) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const eta = rate > 0 ? (this.total - this.done) / rate : Infinity;
    const pct = this.total > 0 ? this.done / this.total : 1;
    const text =
      `${this.stage}: ${this.done}/${this.total} images (${(pct * 100).toFixed(1)}%)  ` +
      `${rate.toFixed(1)} img/s  ETA ${formatSeconds(eta)}  errors ${this.errors}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round(pct * width);
      this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  private finishLine(): void {
    if (this.stage && (this.stage === 'featurize' || this.stage === 'project') && this.total > 0) {
      if (this.drawnDone !== this.done) this.draw(true);
      if (this.tty) this.stream.write('\n');
    }
  }

  end(): void {
    if (!this.quiet) this.finishLine();
    this.stage = undefined;
  }
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m < 60 ? `${m}m${String(s).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Download/build/verify progress on stderr: a redrawn bar on a terminal, a line per phase (and per 25%) otherwise. */
export class ModelProgressReporter {
  private phase: ProvisionProgress['phase'] | undefined;
  private lastQuarter = -1;
  private readonly tty: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly quiet: boolean,
  ) {
    this.tty = Boolean(stream.isTTY) && !process.env.CI;
  }

  handle = (event: ProvisionProgress): void => {
    if (this.quiet) return;
    if (event.phase !== this.phase) {
      if (this.phase === 'download' && this.tty) this.stream.write('\n');
      this.phase = event.phase;
      this.lastQuarter = -1;
      if (event.phase !== 'download' || !this.tty) this.stream.write(`${event.phase}…\n`);
    }
    if (event.phase !== 'download') return;
    const pct = event.total > 0 ? event.done / event.total : 1;
    const text = `download: ${(event.done / 1e6).toFixed(1)}/${(event.total / 1e6).toFixed(1)} MB (${(pct * 100).toFixed(0)}%)`;
    if (this.tty) {
      const filled = Math.round(pct * 24);
      this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(24 - filled)}] ${text}\x1b[K`);
      return;
    }
    const quarter = Math.floor(pct * 4);
    if (quarter > this.lastQuarter) {
      this.lastQuarter = quarter;
      this.stream.write(`${text}\n`);
    }
  };

  end(): void {
    if (!this.quiet && this.phase === 'download' && this.tty) this.stream.write('\n');
    this.phase = undefined;
  }
}
