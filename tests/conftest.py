"""Shared test helpers: where the read-only shared data lives."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The shared data sits next to the repository: <repo>/../shared, unless
# PLACER_SHARED_DIR names another folder (e.g. from a git worktree elsewhere).
SHARED_DIR = Path(os.environ.get(
    "PLACER_SHARED_DIR", Path(__file__).resolve().parents[1] / ".." / "shared")
).resolve()


_JAX_CACHE: list[str] = []
_CACHE_ENV = "PLACER_TEST_XLA_CACHE_DIR"


def pytest_configure(config):
    """Share XLA compilations between tests through a per-run persistent cache.

    Many tests place the same small designs with freshly jitted closures
    (placer.place, the dataset builder, the trainers), which XLA would
    otherwise compile again in every test; with the cache an identical
    program is compiled once per run. The cache folder is new for each run
    (made by the main pytest process and shared with its pytest-xdist
    workers through an environment variable) and removed at the end, so no
    run reads another's compilations. PLACER_TEST_XLA_CACHE=0 turns it off.
    The command-line tools' own cache (placer.compile_cache) is pointed at
    the same folder, or turned off with it.
    """
    import jax

    if os.environ.get("PLACER_TEST_XLA_CACHE", "1") == "0":
        os.environ["PLACER_XLA_CACHE"] = "0"     # the commands' cache too
        return
    if hasattr(config, "workerinput"):          # an xdist worker: the main's folder
        cache = os.environ.get(_CACHE_ENV)
        if cache is None:
            return
    else:
        cache = tempfile.mkdtemp(prefix="placer-test-xla-")
        os.environ[_CACHE_ENV] = cache
        # the commands the tests run (placer.compile_cache) use it as well,
        # never the user's own cache folder
        os.environ["PLACER_XLA_CACHE_DIR"] = cache
        _JAX_CACHE.append(cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    # as the commands do: one cache mode (JAX's size-bounded one) for every
    # process that shares the folder; a process of the other mode fails to
    # read the bounded cache's access times
    from placer.compile_cache import enable_compile_cache

    enable_compile_cache(cache)


def pytest_unconfigure(config):
    for d in _JAX_CACHE:
        shutil.rmtree(d, ignore_errors=True)


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker per core available to this process, at most 8
    (each worker is a separate JAX process with its own memory, and few test
    files are long enough to keep more workers busy)."""
    cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
             else os.cpu_count() or 1)
    return max(1, min(cores, 8))


def find_shared_dir() -> Path:
    """The shared data folder, or a pytest skip saying where it was looked for."""
    if not (SHARED_DIR / "netlists").is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DIR} (expected "
                    f"netlists/ and reference/ there)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data folder (<repo>/../shared); skips the test when absent."""
    return find_shared_dir()


@pytest.fixture(scope="session")
def netlists_dir(shared_dir: Path) -> Path:
    """<shared>/netlists."""
    return shared_dir / "netlists"
