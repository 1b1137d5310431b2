/**
 * A fixed-size ring of one-second buckets holding observed total concurrency for one revision,
 * averaged the way Knative's bucketed window does (pkg/autoscaler/aggregation): the average runs
 * from the first second with data (or the window's start, whichever is later) to the last
 * second with data, so a burst arriving at zero counts at full weight at once, and a missing
 * report is not read as zero load. Gaps between reports do count as zero. No data for a whole
 * window starts a fresh episode.
 */

/** What the autoscaler reads from a window; `decideScale` never writes to it. */
export interface ConcurrencyWindow {
  /** Average of the buckets within the last `spanMs` before `nowMs` (0 when nothing is recent). */
  average(nowMs: number, spanMs: number): number;
  /** Time of the latest record with a value above zero, or undefined. */
  readonly lastActiveMs: number | undefined;
}

const NO_SECOND = -1;

export class SecondWindow implements ConcurrencyWindow {
  private readonly values: Float64Array;
  private readonly seconds: Float64Array;
  private firstSec = NO_SECOND;
  private lastSec = NO_SECOND;
  private lastActive: number | undefined;

  /** `capacitySec` is the longest span ever asked for (the stable window). */
  constructor(readonly capacitySec: number) {
    if (!Number.isInteger(capacitySec) || capacitySec < 1) {
      throw new RangeError(`window capacity must be a whole number of seconds >= 1, got ${capacitySec}`);
    }
    this.values = new Float64Array(capacitySec);
    this.seconds = new Float64Array(capacitySec).fill(NO_SECOND);
  }

  get lastActiveMs(): number | undefined {
    return this.lastActive;
  }

  /**
   * Record a reading for the second containing `timeMs`. Two readings in the same second keep
   * the larger (a poke's instantaneous count and the per-second average can meet there).
   */
  record(timeMs: number, value: number): void {
    if (!(value >= 0)) return;
    const sec = Math.floor(timeMs / 1000);
    if (this.lastSec !== NO_SECOND && sec < this.lastSec - this.capacitySec + 1) return; // too old to matter
    if (this.lastSec === NO_SECOND || sec - this.lastSec >= this.capacitySec) this.firstSec = sec;
    else if (sec < this.firstSec) this.firstSec = sec;
    const slot = sec % this.capacitySec;
    if (this.seconds[slot] === sec) {
      if (value > (this.values[slot] ?? 0)) this.values[slot] = value;
    } else {
      this.seconds[slot] = sec;
      this.values[slot] = value;
    }
    if (sec > this.lastSec) this.lastSec = sec;
    if (value > 0 && (this.lastActive === undefined || timeMs > this.lastActive)) this.lastActive = timeMs;
  }

  /**
   * Start a fresh episode at `timeMs`: earlier seconds stop counting. A revision woken from zero
   * does this, so the burst that woke it counts at full weight (Knative averages a young window
   * over the time it has existed, not over seconds of idleness before the wake-up).
   */
  startEpisode(timeMs: number): void {
    const sec = Math.floor(timeMs / 1000);
    if (this.lastSec === NO_SECOND || sec > this.firstSec) this.firstSec = sec;
    if (sec > this.lastSec) this.lastSec = sec;
  }

  average(nowMs: number, spanMs: number): number {
    if (this.lastSec === NO_SECOND) return 0;
    const spanSec = Math.min(this.capacitySec, Math.max(1, Math.round(spanMs / 1000)));
    const nowSec = Math.floor(nowMs / 1000);
    const fromSec = Math.max(nowSec - spanSec + 1, this.firstSec);
    const toSec = Math.min(nowSec, this.lastSec);
    if (toSec < fromSec) return 0;
    let sum = 0;
    for (let sec = fromSec; sec <= toSec; sec++) {
      const slot = sec % this.capacitySec;
      if (this.seconds[slot] === sec) sum += this.values[slot] ?? 0;
    }
    return sum / (toSec - fromSec + 1);
  }
}
