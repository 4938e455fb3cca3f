"""The command line explains itself (placer.cli_help, placer.cli): --help,
did-you-mean for mistyped keys, typed-value and allowed-value errors with
exit status 2, output folders checked before the work, and a stdout that
holds only the JSON result."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import placer.cli as cli
import placer.config as config
from placer.cli_help import (
    check_choices,
    iter_options,
    one_line,
    override_key,
    suggest,
    type_name,
    value_text,
)
from placer.config import PlaceConfig, PPOConfig, QuantizeConfig, TrainRLConfig
from placer.errors import PlacerInputError
from placer.placers import methods
from placer.synth import main

REPO = Path(__file__).resolve().parents[1]
SYNTH = REPO / "netlists" / "synth_small"

# command -> (entry point, schema)
ENTRIES = {
    "placer-evaluate": (cli.evaluate, config.EvaluateConfig),
    "placer-place": (cli.place, config.PlaceConfig),
    "placer-cluster": (cli.cluster, config.ClusterConfig),
    "placer-dataset": (cli.dataset, config.DatasetConfig),
    "placer-pretrain": (cli.pretrain, config.PretrainConfig),
    "placer-train": (cli.train_rl, config.TrainRLConfig),
    "placer-quantize": (cli.quantize, config.QuantizeConfig),
    "placer-convert": (cli.convert, config.ConvertConfig),
    "placer-bench": (cli.bench, config.BenchConfig),
}


def run_entry(monkeypatch, prog, *args):
    """Runs the command's entry point on the command line ``args`` (as its
    console script would); returns its exit status."""
    monkeypatch.setattr(sys, "argv", [prog, *args])
    with pytest.raises(SystemExit) as e:
        ENTRIES[prog][0]()
    return e.value.code


def compose_place(*overrides):
    with initialize_config_dir(config_dir=cli.CONFIG_DIR, version_base=None):
        return compose("place", overrides=list(overrides))


@pytest.mark.parametrize("prog", sorted(ENTRIES))
def test_help__lists_every_option_with_type_default_and_description(
        prog, monkeypatch, capsys):
    """--help exits 0 and shows, for every option of the schema (nested ones
    as group.key), its type, its default and its description."""
    assert run_entry(monkeypatch, prog, "--help") == 0
    out = capsys.readouterr().out
    schema = ENTRIES[prog][1]
    options = list(iter_options(schema, cli.CHOICES.get(schema),
                                shown_defaults=cli.DEFAULTS.get(schema)))
    assert len(options) > 5
    lines = out.splitlines()
    for opt in options:
        head = f"  {opt.key} = {opt.default}  ({opt.type}"
        i = next((i for i, ln in enumerate(lines) if ln.startswith(head)), None)
        assert i is not None, head
        assert opt.description and opt.description.split()[0] in lines[i + 1]


def test_help__place_shows_the_registered_methods(monkeypatch, capsys):
    """placer-place --help lists the methods of the place-method registry and,
    for each method option (None in the schema), the methods' own defaults."""
    assert run_entry(monkeypatch, "placer-place", "-h") == 0
    out = capsys.readouterr().out
    assert "options.chains = null (sa: 4)  (int or null)" in out
    assert "options.refine_sweeps = null (refine: 3)  (int or null)" in out
    assert f"method = sa  (str; one of: {', '.join(methods())})" in out
    assert cli.PLACE_METHODS == methods() == ("random", "greedy", "sa", "rl")
    assert "placer-place: place a design" in out.splitlines()[0]


def test_help__as_a_program(tmp_path):
    """The real command line: `placer-place --help` prints the options and
    writes nothing."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-c", "from placer.cli import place; place()",
                        "--help"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "options.tries = null (random: 8)  (int or null)" in r.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("prog,arg,message", [
    ("placer-place", "methd=sa", "unknown option 'methd'; did you mean 'method'?"),
    ("placer-place", "options.chain=3",
     "unknown option 'options.chain'; did you mean 'options.chains'?"),
    ("placer-place", "tries=3",
     "unknown option 'tries'; did you mean 'options.tries'?"),
    ("placer-place", "+seeed=3", "unknown option 'seeed'; did you mean 'seed'?"),
    ("placer-train", "ppo.num_env=8",
     "unknown option 'ppo.num_env'; did you mean 'ppo.num_envs'?"),
    ("placer-evaluate", "settings.grid_colls=5",
     "unknown option 'settings.grid_colls'; did you mean 'settings.grid_cols'?"),
    ("placer-cluster", "qqqq=1",
     "unknown option 'qqqq'; placer-cluster --help lists the options"),
])
def test_unknown_key__did_you_mean_and_exit_2(prog, arg, message, monkeypatch,
                                             capsys):
    """A mistyped key (top-level or nested) is one error line, exit 2, before
    Hydra (which would advise prepending '+')."""
    assert run_entry(monkeypatch, prog, "netlist=x.pb.txt", arg) == 2
    err = capsys.readouterr()
    assert err.out == ""
    assert err.err == f"error: {message}\n"


@pytest.mark.parametrize("arg", ["budget_s=soon", "options.tries=many"])
def test_wrong_value_type__exit_2(arg, monkeypatch, capsys):
    """A value Hydra cannot convert to the option's type: exit 2, one line
    naming the override."""
    assert run_entry(monkeypatch, "placer-place", "netlist=x.pb.txt", arg) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {arg}: ") and err.count("\n") == 1


def test_value_outside_choices__exit_2(monkeypatch, capsys):
    """method=gredy is not a registered method: exit 2 with a did-you-mean,
    before the netlist is read."""
    monkeypatch.setattr(cli, "load_netlist", _no_work)
    assert run_entry(monkeypatch, "placer-place", "netlist=x.pb.txt",
                     "method=gredy") == 2
    assert capsys.readouterr().err == (
        "error: invalid value 'gredy' for method; allowed: "
        f"{', '.join(methods())}; did you mean 'greedy'?\n")


def test_check_choices__nested_metadata_choices():
    """Nested fields' metadata choices are checked too (ppo.reward_norm)."""
    check_choices(TrainRLConfig())
    with pytest.raises(PlacerInputError, match="for ppo.reward_norm; allowed: "
                       "running, batch, none"):
        check_choices(TrainRLConfig(ppo=PPOConfig(reward_norm="mean")))
    with pytest.raises(PlacerInputError, match="for method"):
        check_choices(QuantizeConfig(policy="p", method="tqt"))


def _no_work(*args, **kwargs):
    raise AssertionError("the command started its work")


def test_unwritable_output_dir__fails_before_the_work(tmp_path, capsys, monkeypatch):
    """An output_dir that cannot be made (a file stands in its path) fails
    with exit 2 before the netlist is even read."""
    monkeypatch.setattr(cli, "load_netlist", _no_work)
    (tmp_path / "afile").write_text("x")
    out_dir = tmp_path / "afile" / "out"
    cfg = compose_place(f"netlist={SYNTH / 'netlist.pb.txt'}", f"output_dir={out_dir}")
    with pytest.raises(SystemExit) as e:
        cli.place(cfg)
    assert e.value.code == 2
    assert capsys.readouterr().err == (
        f"error: {out_dir}: cannot create the output folder: "
        f"{tmp_path / 'afile'} is a file, not a folder\n")


def test_unwritable_plot__evaluate_fails_before_the_work(tmp_path, capsys, monkeypatch):
    """placer-evaluate checks the folder of its plot (and output) file first."""
    monkeypatch.setattr(cli, "load_netlist", _no_work)
    (tmp_path / "afile").write_text("x")
    with initialize_config_dir(config_dir=cli.CONFIG_DIR, version_base=None):
        cfg = compose("evaluate", overrides=[f"netlist={SYNTH / 'netlist.pb.txt'}",
                                             f"plot={tmp_path / 'afile/p.png'}"])
    with pytest.raises(SystemExit) as e:
        cli.evaluate(cfg)
    assert e.value.code == 2
    plot = tmp_path / "afile" / "p.png"
    assert capsys.readouterr().err == (
        f"error: {plot}: cannot create the output folder: {tmp_path / 'afile'} is "
        "a file, not a folder\n")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root may write into a read-only folder")
def test_read_only_output_dir__fails_before_the_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "load_netlist", _no_work)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        cfg = compose_place(f"netlist={SYNTH / 'netlist.pb.txt'}",
                            f"output_dir={ro / 'out'}")
        with pytest.raises(SystemExit):
            cli.place(cfg)
        assert "not writable" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


def test_place__stdout_is_the_json_result(tmp_path, capsys):
    """placer-place with progress on: stdout parses as JSON (the fast variant
    of the test below: greedy writes no progress lines)."""
    cfg = compose_place(f"netlist={SYNTH / 'netlist.pb.txt'}",
                        f"placement={SYNTH / 'initial.plc'}", "method=greedy",
                        f"output_dir={tmp_path}", "plot=false", "progress=true")
    cli.place(cfg)
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "greedy" and result["legality_violations"] == 0


@pytest.mark.slow
def test_place__sa_progress_goes_to_stderr(tmp_path, capsys):
    """placer-place method=sa refine=true with progress on (2 short stages,
    one sweep): stdout parses as JSON, the progress lines are on stderr."""
    cfg = compose_place(f"netlist={SYNTH / 'netlist.pb.txt'}",
                        f"placement={SYNTH / 'initial.plc'}", "method=sa",
                        "options.stages=2", "options.steps_per_stage=50",
                        "options.chains=2", "refine=true", "options.refine_sweeps=1",
                        f"output_dir={tmp_path}", "plot=false", "progress=true")
    cli.place(cfg)
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert result["method"] == "sa" and result["legality_violations"] == 0
    assert "sa stage 1: best proxy" in out.err
    assert "refine sweep 0: proxy" in out.err


def test_error_paths__absolute_whatever_was_given(tmp_path, monkeypatch, capsys):
    """A relative path in an error is shown absolute (placer.errors)."""
    monkeypatch.chdir(tmp_path)
    cfg = compose_place("netlist=sub/../nope.pb.txt", "output_dir=o")
    with pytest.raises(SystemExit):
        cli.place(cfg)
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'nope.pb.txt'}: file not found\n")
    assert PlacerInputError("bad", "a/../b.plc", 3).path == str(tmp_path / "b.plc")


def test_suggest__known_answers():
    keys = ["seed", "method", "options.tries", "options.chains", "ppo.num_envs",
            "ppo.num_epochs", "model.hidden"]
    assert suggest("metod", keys) == "method"
    assert suggest("chains", keys) == "options.chains"         # group left out
    assert suggest("ppo.num_env", keys) == "ppo.num_envs"
    assert suggest("ppo.epochs", keys) == "ppo.num_epochs"      # within the group
    assert suggest("zzz", keys) is None


def test_override_key__known_answers():
    assert override_key("a.b=1") == "a.b"
    assert override_key("+a=1") == "a" and override_key("++a=1") == "a"
    assert override_key("~a") == "a"
    assert override_key("'netlists=[a,b]'".strip("'")) == "netlists"
    for arg in ("-m", "--cfg", "job", "hydra.run.dir=x", "hydra/launcher=basic"):
        assert override_key(arg) is None


def test_type_and_value_text__known_answers():
    hints = {f.name: f.type for f in dataclasses.fields(PlaceConfig)}
    assert hints["budget_s"] == "Optional[float]"          # as annotated
    options = {o.key: o for o in iter_options(PlaceConfig)}
    assert options["budget_s"].type == "float or null"
    assert options["weights"].type == "list of 3 float"
    assert options["netlist"].default == "required"
    assert options["refine"].default == "false"
    assert options["weights"].default == "[1.0,0.5,0.5]"
    train = {o.key: o for o in iter_options(TrainRLConfig)}
    assert train["netlists"].type == "list of str" and train["netlists"].default == "[]"
    assert train["model.head"].choices == ("conv", "deconv")
    assert type_name(bool) == "bool" and value_text(None) == "null"


def test_one_line__first_sentence_outside_parentheses():
    assert one_line("a thing (see X. Y). More text.") == "a thing (see X. Y)."
    assert one_line("lambda. 1.0 is the default") == "lambda. 1.0 is the default"
    assert one_line("no period") == "no period"


def test_synth_help__every_option_described_with_its_default(capsys):
    """placer-synth (argparse) --help: each option with a description and its
    default."""
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for text in ("--num-hard NUM_HARD hard macros (default: 20)",
                 "--utilization UTILIZATION macro area over canvas area (default: 0.6)",
                 "--seed SEED random seed"):
        assert text in out
