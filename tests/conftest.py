"""Shared test helpers: where the read-only shared data lives."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The shared data sits next to the repository: <repo>/../shared.
SHARED_DIR = (Path(__file__).resolve().parents[1] / ".." / "shared").resolve()


_JAX_CACHE: list[str] = []


def pytest_configure(config):
    """Share XLA compilations between tests through a per-run persistent cache.

    Many tests place the same small designs with freshly jitted closures
    (placer.place, the dataset builder, the trainers), which XLA would
    otherwise compile again in every test; with the cache an identical
    program is compiled once per run. The cache folder is new for each run
    and removed at the end, so no run reads another's compilations.
    PLACER_TEST_XLA_CACHE=0 turns it off.
    """
    import jax

    if os.environ.get("PLACER_TEST_XLA_CACHE", "1") == "0":
        return
    _JAX_CACHE.append(tempfile.mkdtemp(prefix="placer-test-xla-"))
    jax.config.update("jax_compilation_cache_dir", _JAX_CACHE[0])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def pytest_unconfigure(config):
    for d in _JAX_CACHE:
        shutil.rmtree(d, ignore_errors=True)


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
