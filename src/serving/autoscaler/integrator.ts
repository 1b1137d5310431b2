/**
 * Time-weighted in-flight counter. The dispatcher calls `inc`/`dec` as each request (queued or
 * proxied) starts and ends; once a second `sample` returns the average concurrency since the
 * previous sample, which is what Knative's queue-proxy reports (average, not a point reading, so
 * short requests between two samples still count). O(1), no allocation per call.
 */
export class InFlightIntegrator {
  private current = 0;
  private peak = 0;
  private lastChangeMs: number;
  private lastSampleMs: number;
  /** Integral of in-flight count over time (request-milliseconds) since the last sample. */
  private areaMs = 0;

  constructor(nowMs: number) {
    this.lastChangeMs = nowMs;
    this.lastSampleMs = nowMs;
  }

  /** Requests in flight (or queued) right now. */
  get inFlight(): number {
    return this.current;
  }

  /** The highest in-flight count seen since the last sample. */
  get peakSinceSample(): number {
    return this.peak;
  }

  inc(nowMs: number): void {
    this.accumulate(nowMs);
    this.current += 1;
    if (this.current > this.peak) this.peak = this.current;
  }

  dec(nowMs: number): void {
    this.accumulate(nowMs);
    if (this.current > 0) this.current -= 1;
  }

  /** Average concurrency since the previous sample; starts the next interval. */
  sample(nowMs: number): number {
    this.accumulate(nowMs);
    const spanMs = nowMs - this.lastSampleMs;
    const average = spanMs > 0 ? this.areaMs / spanMs : this.current;
    this.areaMs = 0;
    if (nowMs > this.lastSampleMs) this.lastSampleMs = nowMs;
    this.peak = this.current;
    return average;
  }

  private accumulate(nowMs: number): void {
    // A clock that steps backwards adds nothing rather than a negative area.
    if (nowMs > this.lastChangeMs) {
      this.areaMs += this.current * (nowMs - this.lastChangeMs);
      this.lastChangeMs = nowMs;
    }
  }
}
