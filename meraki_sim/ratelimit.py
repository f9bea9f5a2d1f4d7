"""Meraki's rate limits: a token bucket per organization and one per source IP."""

import math
import threading
import time

__all__ = ('RateLimiter', 'TokenBucket')

ORG_MESSAGE = 'API rate limit exceeded for organization'
IP_MESSAGE = 'API rate limit exceeded for IP address'


class TokenBucket:
    """Refills ``rate`` tokens a second and holds at most ``rate + burst``."""

    def __init__(self, rate, burst, now):
        self.rate = rate
        self.capacity = rate + burst
        self.tokens = float(self.capacity)
        self.updated = now

    def take(self, now):
        """Take a token: 0 if there was one, else the seconds until there will be."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimiter:
    """Charges each request to its organization's bucket and its client's IP bucket.

    ``rate`` is requests per second per organization (Meraki: 10) with ``burst`` more allowed at once (Meraki:
    10); ``ip_rate`` is per source IP (Meraki: 100). A rate of 0 switches that limit off.
    """

    def __init__(self, rate=10, burst=None, ip_rate=100, clock=time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.configure(rate, burst, ip_rate)

    def configure(self, rate, burst=None, ip_rate=None):
        """Change the limits; every bucket starts full again."""
        with self.lock:
            self.rate = rate
            self.burst = rate if burst is None else burst
            self.ip_rate = self.ip_rate if ip_rate is None else ip_rate
            self.org_buckets = {}
            self.ip_buckets = {}

    def _take(self, buckets, key, rate, burst, now):
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = TokenBucket(rate, burst, now)
        return bucket.take(now)

    def check(self, org_id, ip):
        """None if the request may go on, else (Retry-After seconds, error message)."""
        with self.lock:
            now = self.clock()
            if self.ip_rate:
                wait = self._take(self.ip_buckets, ip, self.ip_rate, 0, now)
                if wait:
                    return max(1, math.ceil(wait)), IP_MESSAGE
            if self.rate and org_id is not None:
                wait = self._take(self.org_buckets, org_id, self.rate, self.burst, now)
                if wait:
                    return max(1, math.ceil(wait)), ORG_MESSAGE
        return None
