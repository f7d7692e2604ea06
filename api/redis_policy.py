"""The Redis memory policy the app expects, checked once at start-up (a warning, never a failure).

Cache entries and rate-limit counters carry TTLs; the cache's data-version key and queued RQ
jobs do not. So Redis must be bounded (`maxmemory` > 0) and evict only keys with a TTL
(`volatile-lru`, ElastiCache's default, or `volatile-lfu`/`volatile-ttl`/`volatile-random`).
`allkeys-*` may evict the data version (stale reads until entries expire) or queued jobs;
`noeviction` with a bound fails every write once full, rate limits and jobs included;
`maxmemory 0` lets cached responses grow without limit.
"""

from __future__ import annotations

import logging

import redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

EXPECTED_POLICIES = ("volatile-lru", "volatile-lfu", "volatile-ttl", "volatile-random")


def memory_policy_problems(maxmemory: int, policy: str) -> list[str]:
    """What is wrong with these settings for this app (empty when they fit)."""
    problems = []
    if maxmemory <= 0:
        problems.append("maxmemory is 0 (unbounded): cached responses can use all the host's memory")
    if policy not in EXPECTED_POLICIES:
        problems.append(
            f"maxmemory-policy is {policy}: expected one of {', '.join(EXPECTED_POLICIES)} "
            "(evict only keys with a TTL: cache entries, never the data version or queued jobs)"
        )
    return problems


def check_redis_memory_policy(url: str) -> list[str]:
    """Read `INFO memory` (CONFIG is disabled on ElastiCache) and log a warning per problem."""
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        info = client.info("memory")
    except RedisError as error:
        log.warning("Could not check Redis's memory policy (Redis unreachable?): %s", error)
        return []
    finally:
        client.close()
    problems = memory_policy_problems(int(info.get("maxmemory", 0)), str(info.get("maxmemory_policy", "")))
    for problem in problems:
        log.warning("Redis memory policy: %s; see docs/operations.md", problem)
    return problems
