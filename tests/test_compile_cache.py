"""placer.compile_cache: the command-line tools' persistent XLA cache."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import pytest
from jax.experimental.compilation_cache import compilation_cache as cc

from placer.compile_cache import default_cache_dir, enable_compile_cache

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def jax_cache_config():
    """Puts the test process's own cache settings back afterwards."""
    saved = (jax.config.jax_compilation_cache_dir,
             jax.config.jax_compilation_cache_max_size)
    yield
    cc.set_cache_dir(saved[0])
    jax.config.update("jax_compilation_cache_max_size", saved[1])
    cc.reset_cache()


def test_default_dir__variable_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("PLACER_XLA_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("PLACER_XLA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "placer" / "xla"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "placer" / "xla"


def test_enable__points_jax_at_the_folder(monkeypatch, tmp_path, jax_cache_config):
    monkeypatch.delenv("PLACER_XLA_CACHE", raising=False)
    jax.config.update("jax_compilation_cache_max_size", -1)
    folder = enable_compile_cache(tmp_path / "c")
    assert folder == tmp_path / "c" and folder.is_dir()
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700)
    assert jax.config.jax_compilation_cache_dir == str(folder)
    # JAX's "no limit" becomes 2 GiB; a limit already chosen is kept
    assert jax.config.jax_compilation_cache_max_size == 2 * 1024 ** 3
    jax.config.update("jax_compilation_cache_max_size", 12345)
    enable_compile_cache(tmp_path / "c")
    assert jax.config.jax_compilation_cache_max_size == 12345


def test_enable__off_switch_and_unusable_folder(monkeypatch, tmp_path,
                                                jax_cache_config):
    before = jax.config.jax_compilation_cache_dir
    monkeypatch.setenv("PLACER_XLA_CACHE", "0")
    assert enable_compile_cache(tmp_path / "c") is None
    assert not (tmp_path / "c").exists()
    monkeypatch.delenv("PLACER_XLA_CACHE")
    (tmp_path / "file").write_text("not a folder")
    with pytest.warns(UserWarning, match="compile cache off: cannot create"):
        assert enable_compile_cache(tmp_path / "file" / "c") is None
    assert jax.config.jax_compilation_cache_dir == before


def test_enable__a_later_process_loads_what_an_earlier_one_compiled(tmp_path):
    """Two fresh processes each compile one program with the cache in folder
    a, then switch to folder b and compile another (JAX's threshold lowered to
    0 s so that tiny programs count): the first process writes b's entry, the
    second finds it there (JAX counts a cache hit) and writes nothing new."""
    script = textwrap.dedent("""
        import sys, jax, jax.numpy as jnp
        from jax import monitoring
        hits = []
        monitoring.register_event_listener(
            lambda name, **kw: hits.append(name)
            if name == "/jax/compilation_cache/cache_hits" else None)
        from placer.compile_cache import enable_compile_cache
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        enable_compile_cache(sys.argv[1])
        jax.jit(lambda x: x - 1)(1.0)
        before = len(hits)
        enable_compile_cache(sys.argv[2])
        print(float(jax.jit(lambda x: jnp.sin(x) * 3 + 1)(2.0)), len(hits) - before)
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("PLACER_XLA_CACHE", None)
    a, b = tmp_path / "a", tmp_path / "b"
    outs, entries = [], []
    for _ in range(2):
        r = subprocess.run([sys.executable, "-c", script, str(a), str(b)], env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        outs.append(r.stdout.split())
        entries.append(sorted(p.name for p in b.glob("*-cache")))   # one per program
    assert outs[0][0] == outs[1][0]
    assert (outs[0][1], outs[1][1]) == ("0", "1")
    assert len(entries[0]) == 1 and entries[1] == entries[0]


def test_commands__each_turns_the_cache_on_but_the_bench(monkeypatch):
    """On the real command line every placer-* command enables the cache
    after its checks, except placer-bench (its seconds and budgeted runs
    must not depend on earlier runs); a config passed in (tests) skips it."""
    import inspect

    from placer import cli, cli_help
    from placer.config import PlaceConfig

    calls = []
    monkeypatch.setattr(cli_help, "preflight", lambda *a, **k: None)
    monkeypatch.setattr(cli_help, "enable_compile_cache", lambda: calls.append(1))
    monkeypatch.setattr(sys, "argv", ["placer-x"])
    for flag in (True, False):
        calls.clear()
        entry = cli_help.explained("placer-x", "place", PlaceConfig, cli.CONFIG_DIR,
                                   "usage", compile_cache=flag)(lambda cfg: cfg)
        assert entry() is None and calls == ([1] if flag else [])
        assert entry("given") == "given" and calls == ([1] if flag else [])
    commands = [cli.evaluate, cli.place, cli.convert, cli.cluster, cli.dataset,
                cli.pretrain, cli.train_rl, cli.quantize, cli.bench]
    flags = {f.__name__: inspect.getclosurevars(f).nonlocals["compile_cache"]
             for f in commands}
    assert flags == {f.__name__: f is not cli.bench for f in commands}
