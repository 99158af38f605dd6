import type { Clock, Timers } from "./clock.js";

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

/** Test support: a clock that moves only when told, and fires due timers in time order as it does. */
export class ManualClock implements Clock, Timers {
  private pending: Pending[] = [];
  private seq = 0;

  constructor(private time = 0) {}

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn };
    this.pending.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((t) => t !== handle);
  }

  /** Timers not yet fired. */
  get timerCount(): number {
    return this.pending.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due (also ones set while advancing). */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const t of this.pending) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.pending = this.pending.filter((t) => t !== next);
      this.time = Math.max(this.time, next.at);
      next.fn();
    }
    this.time = target;
  }
}
