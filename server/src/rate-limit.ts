// A token bucket per connection: `burst` events at once, then `perSecond` sustained.
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly perSecond: number, private readonly burst: number,
              private readonly now: () => number = Date.now) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export type Verdict = 'pass' | 'refuse' | 'drop' | 'disconnect';

// Every event of a connection, known or not, passes this gate. Over the limit, the first event
// is refused with an answer (so a well-behaved client learns why), the rest are dropped without
// one (answering a flood costs as much as serving it), and a client that keeps pushing past
// `tolerance` dropped events in a row is disconnected.
export class EventGate {
  private overLimit = 0;

  constructor(private readonly bucket: TokenBucket, private readonly tolerance: number) {}

  admit(): Verdict {
    if (this.bucket.take()) {
      this.overLimit = 0;
      return 'pass';
    }
    this.overLimit += 1;
    if (this.overLimit === 1) return 'refuse';
    return this.overLimit > this.tolerance ? 'disconnect' : 'drop';
  }
}
