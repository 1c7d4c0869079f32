/**
 * Sliding-window counters in memory: `hit(key)` records an attempt and says
 * whether it is allowed. Old keys are swept so memory stays bounded.
 */
export class WindowLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Records an attempt; returns 0 if allowed, else milliseconds until one will be. */
  hit(key: string, now = Date.now()): number {
    const arr = (this.hits.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (arr.length >= this.max) {
      this.hits.set(key, arr);
      return this.windowMs - (now - (arr[0] as number));
    }
    arr.push(now);
    this.hits.set(key, arr);
    if (this.hits.size > this.maxKeys) this.sweep(now);
    return 0;
  }

  reset(key: string): void {
    this.hits.delete(key);
  }

  private sweep(now: number): void {
    for (const [k, arr] of this.hits) if (arr.every((t) => now - t >= this.windowMs)) this.hits.delete(k);
    // still too many: drop the oldest keys (Map keeps insertion order)
    for (const k of this.hits.keys()) {
      if (this.hits.size <= this.maxKeys) break;
      this.hits.delete(k);
    }
  }
}

/**
 * Account lockout: after `maxFailures` failed logins within the lockout period
 * the account is locked for that period; a success clears the count.
 */
export class LockoutPolicy {
  private readonly failures = new Map<string, { count: number; first: number; lockedUntil: number }>();

  constructor(private readonly maxFailures: number, private readonly lockoutMs: number) {}

  /** Milliseconds the account stays locked, or 0. */
  lockedFor(account: string, now = Date.now()): number {
    const f = this.failures.get(account.toLowerCase());
    return f && f.lockedUntil > now ? f.lockedUntil - now : 0;
  }

  fail(account: string, now = Date.now()): void {
    const key = account.toLowerCase();
    let f = this.failures.get(key);
    if (!f || now - f.first > this.lockoutMs) f = { count: 0, first: now, lockedUntil: 0 };
    f.count += 1;
    if (f.count >= this.maxFailures) f.lockedUntil = now + this.lockoutMs;
    this.failures.set(key, f);
    if (this.failures.size > 100_000) {
      for (const [k, v] of this.failures) if (v.lockedUntil < now && now - v.first > this.lockoutMs) this.failures.delete(k);
    }
  }

  succeed(account: string): void {
    this.failures.delete(account.toLowerCase());
  }
}
