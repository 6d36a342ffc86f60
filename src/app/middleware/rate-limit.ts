import type { MiddlewareHandler } from 'hono';
import { HttpError } from '../errors.js';

export interface RateLimitOptions {
  /** Requests per minute a client may sustain; also the burst size. */
  perMinute: number;
  /** Client key of a request (its IP address). */
  keyOf: (c: Parameters<MiddlewareHandler>[0]) => string;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token bucket per client: `perMinute` tokens, refilled continuously. A request takes one token or is refused
 * with 429 and Retry-After (seconds until a token is back). Full buckets are forgotten on a sweep, so the map
 * holds only clients seen in the last minute or so.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly ratePerMs: number;
  private lastSweep = 0;

  constructor(
    readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {
    this.ratePerMs = capacity / 60_000;
  }

  /** Takes a token for `key`; returns 0 when granted, else the seconds to wait. */
  take(key: string): number {
    const now = this.now();
    this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, updatedAt: now };
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.updatedAt) * this.ratePerMs);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerMs / 1000));
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [key, b] of this.buckets) if (b.tokens + (now - b.updatedAt) * this.ratePerMs >= this.capacity) this.buckets.delete(key);
  }
}

export function rateLimit(options: RateLimitOptions): MiddlewareHandler {
  const buckets = new TokenBuckets(options.perMinute, options.now);
  return async (c, next) => {
    const wait = buckets.take(options.keyOf(c));
    if (wait > 0) {
      throw new HttpError(429, 'rate-limited', `too many requests: ${options.perMinute} photos per minute per client; try again in ${wait} s`, {
        'Retry-After': String(wait),
      });
    }
    await next();
  };
}
