/** Time, injected so limiter tests never sleep. `Date` satisfies it. */
export interface Clock {
  now(): number;
}

/** Timers, injected for the same reason. Handles are opaque. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process's own timers; unref'd, so a waiting limiter never keeps the process alive. */
export const realTimers: Timers = {
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
