"""The in-process cache's data version, shared by this host's worker processes through a file."""

from __future__ import annotations

import itertools
import multiprocessing
from pathlib import Path

from api.cache.local import LocalBackend

BUMPS = 400


def bump_versions(version_file: str, bumps: int) -> None:
    """In another process: invalidate `bumps` times, as a worker that commits writes does."""
    backend = LocalBackend(60, Path(version_file))
    for _ in range(bumps):
        backend.invalidate()


def test_other_processes_never_see_the_version_go_back(tmp_path):
    """While two processes bump the version, a reader sees it only grow: never the empty file of a
    rewrite in place (read as version 0, under which entries from before every write were stored)."""
    version_file = tmp_path / "cache-version"
    reader = LocalBackend(60, version_file)
    reader.invalidate()  # version 1: from now on "0" would be an old version
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=bump_versions, args=(str(version_file), BUMPS)) for _ in range(2)]
    for writer in writers:
        writer.start()
    seen = []
    while any(writer.is_alive() for writer in writers):
        seen.append(int(reader._version()))
    for writer in writers:
        writer.join(timeout=60)
    went_back = [(before, after) for before, after in itertools.pairwise(seen) if after < before]
    assert went_back == []
    assert int(reader._version()) == 1 + 2 * BUMPS  # every bump of both processes counted once
