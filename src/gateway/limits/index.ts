export { type Clock, realTimers, type Timers } from "./clock.js";
export { ManualClock } from "./manual-clock.js";
export { type TakeResult, TokenBucket, type TokenBucketOptions } from "./token-bucket.js";
export {
  countTextTokens,
  DEFAULT_OUTPUT_TOKENS,
  estimateTokens,
  loadTokenizer,
  SAMPLE_CHARS,
  tokenizerLoaded,
  tokenizerState,
} from "./tokens.js";
export {
  type AcquireOptions,
  type LimiterState,
  type LimiterStatus,
  type Permit,
  QueueError,
  QueueFullError,
  QueueTimeoutError,
  UpstreamLimiter,
  type UpstreamLimiterOptions,
  type UpstreamLimits,
} from "./upstream-limiter.js";
