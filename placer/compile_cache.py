"""A persistent cache of XLA's compiled programs, shared between runs.

Much of a short run is compilation: ``place(method="sa")`` on the bundled
synth_small design spends about 30 of its first 40 seconds compiling its
five large programs (rollouts, stages, refreshes). JAX can keep compiled
programs on disk, keyed by the program, the compile options, the jax and
jaxlib versions and the device, so a later run of the same design shapes
loads them instead: a fresh ``placer-place`` of the shipped policy on
Ariane133 takes 15.5 s instead of 31.7 s, SA on synth_small 17.3 s instead
of 41.6 s (experiments/bench_compile_cache.py; results_rl.md, session 15).

The command-line tools turn it on (see :func:`enable_compile_cache`); the
Python API leaves JAX's global configuration alone unless asked to.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

ENV_DIR = "PLACER_XLA_CACHE_DIR"
ENV_SWITCH = "PLACER_XLA_CACHE"
# Least-recently-used entries are evicted beyond this many bytes.
MAX_BYTES = 2 * 1024 ** 3


def default_cache_dir() -> Path:
    """``$PLACER_XLA_CACHE_DIR``, else ``$XDG_CACHE_HOME/placer/xla``, else
    ``~/.cache/placer/xla``."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "placer" / "xla"


def enable_compile_cache(path: str | os.PathLike | None = None) -> Path | None:
    """Keeps JAX's compiled programs in ``path`` for later processes.

    Args:
        path: the cache folder; default :func:`default_cache_dir`.

    Returns:
        The folder in use, or None when the cache stays off: the environment
        variable ``PLACER_XLA_CACHE=0``, or a folder that cannot be created
        (a warning says so; the run goes on without the cache).
    """
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return None
    folder = Path(path).expanduser() if path is not None else default_cache_dir()
    try:
        # private: whoever can write the cache can run code in this process
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        warnings.warn(f"compile cache off: cannot create {folder}: {e.strerror}",
                      stacklevel=2)
        return None
    if not os.access(folder, os.W_OK):
        warnings.warn(f"compile cache off: {folder} is not writable", stacklevel=2)
        return None
    import jax
    from jax.experimental.compilation_cache import compilation_cache as cc

    cc.set_cache_dir(str(folder))
    # JAX's own settings (and their JAX_* environment variables) decide what
    # is worth a file: by default programs that took 1 s or more to compile.
    if jax.config.jax_compilation_cache_max_size < 0:      # JAX's "no limit"
        jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    # JAX opens the cache folder once per process, at the first compilation
    # after one was set: start over, so that a call that changes the folder
    # (a second call, or after the test suite's own cache) takes effect.
    cc.reset_cache()
    return folder


__all__ = ["default_cache_dir", "enable_compile_cache"]
