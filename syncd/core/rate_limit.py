"""Token bucket, pure: the caller passes the clock so tests need no sleeping."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    burst: float
    tokens: float = -1.0
    last: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> bool:
        if self.tokens < 0:
            self.tokens, self.last = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


@dataclass
class KeyedLimiter:
    """One bucket per key (card number, client address), with a cap on how many keys are kept
    so a flood of distinct keys cannot grow memory without bound."""

    rate: float
    burst: float
    max_keys: int = 100_000
    buckets: dict[str, TokenBucket] | None = None

    def take(self, key: str, now: float) -> bool:
        if self.buckets is None:
            self.buckets = {}
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                # Forget full buckets first: they carry no state worth keeping.
                for k in [k for k, b in self.buckets.items() if b.tokens >= b.burst][:1000]:
                    del self.buckets[k]
                if len(self.buckets) >= self.max_keys:
                    return False
            bucket = self.buckets[key] = TokenBucket(self.rate, self.burst)
        return bucket.take(now)

    def refund(self, key: str) -> None:
        """Give back what ``take`` took for an attempt that turned out honest (a sign-in code
        that was right): only failures spend the budget."""
        bucket = (self.buckets or {}).get(key)
        if bucket is not None:
            bucket.tokens = min(bucket.burst, bucket.tokens + 1)


@dataclass
class ConcurrencyLimit:
    """How many things (open connections) each key (client address) holds at once."""

    limit: int
    held: dict[str, int] | None = None

    def acquire(self, key: str) -> bool:
        if self.held is None:
            self.held = {}
        if self.held.get(key, 0) >= self.limit:
            return False
        self.held[key] = self.held.get(key, 0) + 1
        return True

    def total(self) -> int:
        return sum((self.held or {}).values())

    def release(self, key: str) -> None:
        if self.held is None or key not in self.held:
            return
        self.held[key] -= 1
        if self.held[key] <= 0:
            del self.held[key]
