"""Shared test helpers: where the read-only shared data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

# The shared data sits next to the repository: <repo>/../shared.
SHARED_DIR = (Path(__file__).resolve().parents[1] / ".." / "shared").resolve()


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
