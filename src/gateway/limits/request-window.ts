/**
 * Sliding-window log: the send times inside the window (at most `limit` of them), oldest first, so
 * "5 per 2 s" sends 5 at once and the next 5 exactly 2 s after them (a bucket refilling 5/2 s would
 * trickle them out). Memory follows the traffic, not the limit: `rpm: 100000000` costs nothing.
 */
export class RequestWindow {
  private times: number[] = [];
  private head = 0;

  constructor(
    readonly limit: number,
    readonly perMs: number,
  ) {}

  private get size(): number {
    return this.times.length - this.head;
  }

  /** Forgets sends that left the window. */
  private prune(now: number): void {
    while (this.size > 0 && this.times[this.head]! + this.perMs <= now) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }

  /** Ms until the request `ahead` places back (0 = the next) may go, if each goes as soon as it may. */
  msUntil(now: number, ahead = 0): number {
    this.prune(now);
    // The last `limit` sends, oldest first; slots before the window's sends are long gone.
    const free = this.limit - this.size;
    const pos = ahead % this.limit;
    const oldest = pos < free ? Number.NEGATIVE_INFINITY : this.times[this.head + pos - free]!;
    return Math.max(oldest + this.perMs, now) + Math.floor(ahead / this.limit) * this.perMs - now;
  }

  record(now: number): void {
    this.times.push(now);
    if (this.size > this.limit) this.head++;
  }

  used(now: number): number {
    this.prune(now);
    return this.size;
  }
}
