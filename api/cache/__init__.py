"""The read-through response cache (docs/cache.md).

- `response`: `ResponseCache` (one per app, in `app.extensions`), keys, ETag and 304 replay;
- `local`: the in-process backend and its shared version file (no `REDIS_URL`);
- `redis`: the Redis backend, its Lua scripts, timeouts and cool-down;
- `near`: the near cache in front of Redis (`CACHE_NEAR_TTL`);
- `invalidation`: the one place cached reads are invalidated, after a commit that changed data.
"""
