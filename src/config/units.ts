/** Parsers for the human units used in the config file: durations ("30s") and sizes ("20MB"). */

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_BYTES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** "500ms", "30s", "10m", "1h", "7d", or a bare number of milliseconds → ms; null when malformed. */
export function parseDuration(input: string | number): number | null {
  if (typeof input === "number") return Number.isFinite(input) && input >= 0 ? input : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(input);
  if (!m) return null;
  return Number(m[1]) * (DURATION_MS[(m[2] ?? "ms").toLowerCase()] ?? 1);
}

/** "20MB", "512mb", "1GB", or a bare number of bytes → bytes; null when malformed. */
export function parseSize(input: string | number): number | null {
  if (typeof input === "number") return Number.isFinite(input) && input >= 0 ? input : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(input);
  if (!m) return null;
  return Math.floor(Number(m[1]) * (SIZE_BYTES[(m[2] ?? "b").toLowerCase()] ?? 1));
}
