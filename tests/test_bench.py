"""placer-bench: a tiny suite writes its runs, table and plot, and resumes."""

from __future__ import annotations

import json
import os
import pathlib
import re

import jax
import numpy as np
import pytest

from placer import bench
from placer.errors import PlacerInputError

ROOT = pathlib.Path(__file__).resolve().parents[1]
SMALL = ROOT / "netlists" / "synth_small"

# A reference entry for the tiny suite's design, so the table's published
# rows and the plot's lines are exercised without shared data.
REFS = {"synth_small": {"convention": "made up for the test", "entries": [
    {"label": "someone's placer", "proxy": 0.9, "wirelength": 0.1,
     "source": "this test"}]}}


def write_suite(tmp: pathlib.Path, placers: str, seeds: str = "[0]") -> pathlib.Path:
    """A suite on synth_small, paths relative to the suite file."""
    rel = os.path.relpath(SMALL, tmp)
    path = tmp / "suite.yaml"
    path.write_text(f"""name: tiny
seeds: {seeds}
designs:
  - name: synth_small
    netlist: {rel}/netlist.pb.txt
    placement: {rel}/initial.plc
placers:
{placers}
""")
    return path


TWO = """  - label: random
    method: random
  - label: greedy
    method: greedy
"""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Runs random + greedy on synth_small (seed 0) once; counts the
    placements made."""
    tmp = tmp_path_factory.mktemp("bench")
    suite = bench.load_suite(str(write_suite(tmp, TWO)))
    out = tmp / "out"
    calls = []
    real = bench.place

    def counting(nl, **kw):
        calls.append(kw["method"])
        return real(nl, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(bench, "place", counting)
    lines = []
    summary = bench.run_bench(suite, str(out), config={"suite": "tiny"},
                              references=REFS, log=lines.append)
    mp.undo()
    return suite, out, summary, calls, lines


def test_tiny_suite_writes_runs_table_and_plot(tiny_run):
    suite, out, summary, calls, lines = tiny_run
    assert calls == ["random", "greedy"]
    assert summary["ran"] == 2 and summary["skipped"] == 0 and summary["runs"] == 2
    assert summary["illegal"] == 0
    runs = sorted((out / "runs").glob("*.json"))
    assert [p.name for p in runs] == ["synth_small__greedy__s0.json",
                                      "synth_small__random__s0.json"]
    for p in runs:
        r = json.loads(p.read_text())
        assert r["complete"] and r["legal"] and r["violations"] == []
        # the float64 breakdown adds up with the suite's weights (1, 0.5, 0.5)
        assert r["proxy"] == pytest.approx(
            r["wirelength"] + 0.5 * r["density"] + 0.5 * r["congestion"], rel=1e-12)
        assert r["seconds"] > 0
        # the compile cache in use (here the test run's own) is on record
        assert r["host"]["compile_cache"] == jax.config.jax_compilation_cache_dir
        assert r["method_metadata"]["method"] == r["placer"]["method"]
        assert r["settings"]["grid_cols"] == 10 and r["config"] == {"suite": "tiny"}
        stem = p.with_suffix("")
        assert stem.with_suffix(".plc").stat().st_size > 0
        assert stem.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "proxy_vs_time.png").read_bytes()[:4] == b"\x89PNG"
    table = (out / "results.md").read_text()
    assert "## synth_small" in table
    # our rows: median = best with one seed, the legal column says yes
    r = json.loads((out / "runs" / "synth_small__random__s0.json").read_text())
    row = next(line for line in table.splitlines() if line.startswith("| random |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "1" and cells[2] == cells[3] == f"{r['proxy']:.4f}"
    assert cells[-1] == "yes"
    # published: in the TILOS column (their convention), digits as published
    assert ("| published: someone's placer | - | - | - | 0.9 | 0.1 / - / - | - | - |"
            in table)
    assert cells[4] == f"{r['conventions']['tilos']['proxy']:.4f}"
    assert "this test" in table
    assert any("[2/2] synth_small / greedy / seed 0: proxy" in m for m in lines)


def test_rerun_resumes_without_placing(tiny_run, monkeypatch):
    suite, out, _, _, _ = tiny_run
    jsons = sorted((out / "runs").glob("*.json"))
    before = {p: p.stat().st_mtime_ns for p in jsons}

    def must_not_run(*a, **k):
        raise AssertionError("a finished run was placed again")

    monkeypatch.setattr(bench, "place", must_not_run)
    (out / "results.md").unlink()
    summary = bench.run_bench(suite, str(out), references=REFS)
    assert summary["ran"] == 0 and summary["skipped"] == 2 and summary["runs"] == 2
    assert {p: p.stat().st_mtime_ns for p in jsons} == before
    assert "| random | 1 |" in (out / "results.md").read_text()   # remade


def test_command_resumes_and_checks_names(tiny_run, monkeypatch, capsys):
    """placer-bench's run function: a finished output folder is only
    re-tabled; an unknown placer label fails before anything runs."""
    from placer.cli import run_bench
    from placer.config import BenchConfig

    suite, out, _, _, _ = tiny_run
    monkeypatch.setattr(bench, "place", lambda *a, **k: pytest.fail("ran"))
    cfg = BenchConfig(suite=suite.path, output_dir=str(out), progress=False)
    summary = run_bench(cfg)
    assert (summary["ran"], summary["skipped"]) == (0, 2)
    assert summary["table"] == str(out / "results.md")
    assert capsys.readouterr().err == ""          # progress=False: silent
    with pytest.raises(PlacerInputError, match="no placer 'gredy'.*'greedy'"):
        run_bench(BenchConfig(suite=suite.path, output_dir=str(out),
                              placers=("gredy",)))


def test_partial_or_changed_json_is_run_again(tiny_run, tmp_path, monkeypatch):
    """A truncated JSON (a run killed mid-write without the atomic rename)
    and a JSON of a changed suite entry are not counted as done."""
    suite, out, _, _, _ = tiny_run
    runs = tmp_path / "runs"
    runs.mkdir()
    for p in (out / "runs").glob("*.json"):
        (runs / p.name).write_text(p.read_text())
    (runs / "synth_small__random__s0.json").write_text('{"schema": 1, "comp')
    placed = []

    def fake_run(nl, d, p, s, suite_, runs_dir, config, plot=True):
        placed.append((p.label, s))
        r = json.loads((out / "runs" / f"{bench.run_stem(d, p, s)}.json").read_text())
        r["key"] = bench.run_key(d, p, s, suite_.weights)
        bench.write_json_atomic(r, os.path.join(runs_dir, bench.run_stem(d, p, s)
                                                + ".json"))
        return r

    monkeypatch.setattr(bench, "run_one", fake_run)
    monkeypatch.setattr(bench, "_load", lambda d: None)
    bench.run_bench(suite, str(tmp_path), references=REFS, plot=False)
    assert placed == [("random", 0)]
    # greedy with an option now: its old JSON's key no longer matches
    changed = bench.load_suite(str(write_suite(
        tmp_path, TWO.replace("method: greedy", "method: greedy\n    refine: true"))))
    placed.clear()
    bench.run_bench(changed, str(tmp_path), references=REFS, plot=False)
    assert placed == [("greedy", 0)]


@pytest.mark.parametrize("placers, message", [
    ("  - method: greedyy\n", "unknown method 'greedyy'; did you mean 'greedy'?"),
    ("  - method: random\n  - method: sa\n    options: {chainz: 2}\n",
     "unknown option 'chainz' for method 'sa'; did you mean 'chains'?"),
    ("  - method: sa\n    options: {chains: 0}\n", "chains must be an integer >= 1"),
    ("  - method: sa\n    budget_s: -5\n", "budget_s must be a positive number"),
    ("  - method: sa\n    budgets: 5\n", "unknown key 'budgets'"),
    ("  - label: a\n    method: random\n  - label: a\n    method: greedy\n",
     "placer labels must be unique"),
])
def test_bad_suite_fails_before_any_run(tmp_path, monkeypatch, placers, message):
    monkeypatch.setattr(bench, "place", lambda *a, **k: pytest.fail("ran"))
    path = write_suite(tmp_path, placers)
    with pytest.raises(PlacerInputError) as e:
        bench.load_suite(str(path))
    assert message in str(e.value) and str(path) in str(e.value)


def test_bad_paths_settings_and_selection(tmp_path):
    path = write_suite(tmp_path, TWO)
    text = path.read_text()
    path.write_text(text.replace("netlist.pb.txt", "missing.pb.txt"))
    with pytest.raises(PlacerInputError, match="no such file .*missing.pb.txt"):
        bench.load_suite(str(path))
    path.write_text(text.replace("    placement:", "    settings: {grid_col: 5}\n"
                                                 "    placement:"))
    with pytest.raises(PlacerInputError, match="did you mean 'grid_cols'"):
        bench.load_suite(str(path))
    path.write_text(re.sub(r"netlist: .*", "netlist: ${shared}/nl/x.pb.txt", text))
    with pytest.raises(PlacerInputError, match=r"nl/x.pb.txt \(\$\{shared\} is /"):
        bench.load_suite(str(path), shared_dir="/nowhere")
    suite = bench.load_suite(str(write_suite(tmp_path, TWO)))
    with pytest.raises(PlacerInputError, match="did you mean 'greedy'"):
        bench.select(suite, placers=("gredy",))
    part = bench.select(suite, placers=("greedy",), seeds=(3, 4))
    assert [p.label for p in part.placers] == ["greedy"] and part.seeds == (3, 4)
    with pytest.raises(PlacerInputError, match="did you mean 'small'"):
        bench.suite_path("smal")


def test_illegal_placement_is_flagged_not_counted(tmp_path, monkeypatch):
    """A placer that stacks every hard macro at the canvas centre: the runs
    are marked illegal in the JSON, the table and the summary, and the proxy
    statistics leave them out."""
    def stacked(nl, **kw):
        xy = nl.node_xy.copy()
        xy[nl.hard_macros] = np.asarray(nl.canvas) / 2
        return nl.with_placement(xy)

    monkeypatch.setattr(bench, "place", stacked)
    suite = bench.load_suite(str(write_suite(tmp_path, """  - label: stacked
    method: random
""", seeds="[0, 1]")))
    summary = bench.run_bench(suite, str(tmp_path / "out"), references={},
                              plot=False)
    assert summary["illegal"] == 2
    r = json.loads((tmp_path / "out" / "runs" / "synth_small__stacked__s0.json")
                   .read_text())
    assert r["legal"] is False and r["violations"][0]["kind"] == "overlap"
    row = next(line for line in (tmp_path / "out" / "results.md").read_text()
               .splitlines() if line.startswith("| stacked |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # no legal run: no proxy statistics; the legality cell says why
    assert cells[1] == "2" and cells[2] == cells[3] == "-"
    assert cells[-1] == "**NO: 2 of 2 illegal** (overlap)"


def test_placer_row_median_and_best_over_legal_runs():
    """Three runs, proxies 0.9, 0.7 (illegal), 0.8: median and best of the
    legal two are (0.9 + 0.8) / 2 = 0.85 and 0.8; the illegal one is
    reported, not counted."""
    def run(p, legal):
        return {"proxy": p, "wirelength": p / 10, "density": p, "congestion": p,
                "seconds": p * 10, "legal": legal,
                "violations": [] if legal else [{"kind": "outside_canvas"}]}

    row = bench.placer_row("x", [run(0.9, True), run(0.7, False), run(0.8, True)],
                           tilos=False)
    assert row == ("| x | 3 | 0.8500 | 0.8000 | 0.0850 / 0.8500 / 0.8500 | 8.0 | "
                   "**NO: 1 of 3 illegal** (outside_canvas) |")


def test_shipped_suites_and_references_parse(request):
    refs = bench.load_references()
    e = refs["ariane133_ng45"]["entries"]
    assert e[0]["proxy"] == 0.848 and e[1]["proxy"] == "0.820"   # as published
    assert all(e["source"] for d in refs.values() for e in d["entries"])
    small = bench.load_suite(bench.suite_path("small"))
    assert [d.name for d in small.designs] == ["synth_small", "design_1", "design_2"]
    shared = request.getfixturevalue("shared_dir")   # skips without shared data
    for name in ("ariane133", "ariane133_quick"):
        s = bench.load_suite(bench.suite_path(name), shared_dir=str(shared))
        assert s.designs[0].references in refs


def test_tilos_convention_hook(monkeypatch):
    """When Settings has the TILOS convention's setting, every run is scored
    both ways and the table gets a column. Until that setting is merged, a
    stand-in boolean setting (soft_macros_squared) exercises the plumbing."""
    from placer.cost.proxy import proxy_cost
    from placer.netlist.io import load_netlist

    monkeypatch.setattr(bench, "TILOS_SETTING", "soft_macros_squared")
    assert bench.tilos_convention_available()
    nl = load_netlist(str(SMALL / "netlist.pb.txt"), str(SMALL / "initial.plc"))
    cost, conv = bench.score(nl, (1.0, 0.5, 0.5))
    assert conv["placer"]["proxy"] == cost.proxy == proxy_cost(nl).proxy
    assert conv["tilos"]["proxy"] == proxy_cost(
        nl.with_settings(soft_macros_squared=True)).proxy

    def run(p, t):
        return {"proxy": p, "wirelength": 0.1, "density": 0.5, "congestion": 0.5,
                "seconds": 1.0, "legal": True, "violations": [],
                "conventions": {"placer": {"proxy": p}, "tilos": {"proxy": t}}}

    # TILOS column: median of 0.81 and 0.83 = 0.82
    row = bench.placer_row("x", [run(0.8, 0.81), run(0.8, 0.83)], tilos=True)
    assert row.startswith("| x | 2 | 0.8000 | 0.8000 | 0.8200 | ")


def test_resume_adds_the_tilos_convention_to_old_runs(tiny_run, tmp_path,
                                                      monkeypatch):
    """A run JSON without the TILOS breakdown (made before the setting
    existed) is scored from its .plc on resume, not placed again; the value
    is the proxy of that .plc under netlist_pin_orientation=true."""
    from placer.cost.proxy import proxy_cost
    from placer.netlist.io import load_netlist

    suite, out, _, _, _ = tiny_run
    if not bench.tilos_convention_available():
        pytest.skip("placer.Settings has no TILOS convention setting")
    runs = tmp_path / "runs"
    runs.mkdir()
    for p in (out / "runs").iterdir():
        (runs / p.name).write_bytes(p.read_bytes())
    r = json.loads((runs / "synth_small__greedy__s0.json").read_text())
    del r["conventions"]["tilos"]
    (runs / "synth_small__greedy__s0.json").write_text(json.dumps(r))
    monkeypatch.setattr(bench, "place", lambda *a, **k: pytest.fail("ran"))
    summary = bench.run_bench(suite, str(tmp_path), references=REFS, plot=False)
    assert summary["ran"] == 0
    r = json.loads((runs / "synth_small__greedy__s0.json").read_text())
    nl = load_netlist(str(SMALL / "netlist.pb.txt"),
                      str(runs / "synth_small__greedy__s0.plc"))
    assert r["conventions"]["tilos"]["proxy"] == proxy_cost(
        nl.with_settings(netlist_pin_orientation=True)).proxy


def test_bench_config__overrides_typed_and_typos_fail():
    """List overrides arrive typed; a mistyped key fails at compose (that
    bench.yaml composes into the BenchConfig defaults: tests/test_config.py)."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import ConfigCompositionException
    from omegaconf import OmegaConf

    from placer.cli import CONFIG_DIR

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        cfg = OmegaConf.to_object(compose("bench", overrides=[
            "suite=small", "seeds=[1,2]", "placers=[greedy]"]))
        assert cfg.seeds == (1, 2) and cfg.placers == ("greedy",)
        with pytest.raises(ConfigCompositionException):
            compose("bench", overrides=["suite=small", "seed=[1]"])


def test_references_file_errors(tmp_path):
    bad = tmp_path / "refs.yaml"
    bad.write_text("designs:\n  d:\n    entries:\n      - {label: x, proxy: high, "
                   "source: s}\n")
    with pytest.raises(PlacerInputError, match=r"refs.yaml: designs.d.entries\[0\]"):
        bench.load_references(str(bad))
    bad.write_text("designs: [\n")
    with pytest.raises(PlacerInputError, match=r"refs.yaml:\d+: malformed"):
        bench.load_references(str(bad))
