"""placer.quantize, the quantized checkpoint, place() and placer-quantize."""

import json

import jax
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import placer
from placer.checkpoint import save_checkpoint
from placer.cli import CONFIG_DIR, run_place, run_quantize
from placer.errors import PlacerInputError
from placer.legality import check_legality
from placer.quant import QUANT_FORMAT, QuantizedPolicy, save_quantized
from placer.quant import params as qparams
from placer.rl.policy import Policy, load_policy
from tests.quant.helpers import SYNTH, msqe_policy, small_policy, synth_small


def _flat(tree):
    return {qparams.path_str(p): np.asarray(x)
            for p, x in jax.tree_util.tree_flatten_with_path(tree)[0]}


def test_quantize_msqe__kernels_are_codes_times_powers_of_two():
    pol = small_policy()
    q = msqe_policy(6)
    assert isinstance(q, QuantizedPolicy) and isinstance(q, Policy)
    assert q.meta["format"] == QUANT_FORMAT and q.bits == 6
    kernels = qparams.kernel_paths(pol.params)
    assert sorted(q.codes) == sorted(kernels) and len(kernels) > 5
    # every module's kernels, whatever its name; all biases stay float
    assert any("policy_head" in p for p in kernels)
    assert any("encoder" in p for p in kernels)
    before, after = _flat(pol.params), _flat(q.params)
    for path, w in before.items():
        if path in q.codes:
            c, e = np.asarray(q.codes[path]), np.asarray(q.exponents[path])
            assert np.abs(c).max() <= 31 and e.shape == () and e.dtype == np.int32
            np.testing.assert_array_equal(after[path],
                                          c * np.exp2(e.astype(np.float64)))
        else:
            np.testing.assert_array_equal(after[path], w)
    # quantizing again changes nothing
    again = placer.quantize(q, bits=6, method="msqe")
    for path, w in after.items():
        np.testing.assert_array_equal(_flat(again.params)[path], w)


def test_quantize__generic_over_the_tree_and_per_channel():
    tree = {"params": {"new_head": {"conv": {"kernel": np.ones((3, 3, 2, 4)) *
                                             np.array([0.1, 1.0, 10.0, 100.0]),
                                             "bias": np.ones(4)}},
                       "scale": {"kernel": np.ones(3)}}}       # 1-D: not a weight
    assert qparams.kernel_paths(tree) == ["params/new_head/conv/kernel"]
    assert qparams.exponents(tree, 8, "msqe", per_channel=True)[
        "params/new_head/conv/kernel"].shape == (4,)
    e = qparams.exponents(tree, 8, "max", per_channel=True)
    # 8 bits, Q = 127: 0.1 -> 2^-10 (127 * 2^-10 = 0.124 >= 0.1 > 0.062),
    # 1 -> 2^-6 (1.98 >= 1 > 0.99), 10 -> 2^-3 (15.9), 100 -> 2^0 (127)
    np.testing.assert_array_equal(e["params/new_head/conv/kernel"], [-10, -6, -3, 0])


def test_save_load__round_trip_bit_exact(tmp_path):
    q = msqe_policy(4, per_channel=True)
    path = save_quantized(q, tmp_path / "policy")
    back = load_policy(tmp_path)          # finds <dir>/policy as for placer-train
    assert isinstance(back, QuantizedPolicy)
    assert (back.bits, back.method, back.per_channel) == (4, "msqe", True)
    for p in q.codes:
        np.testing.assert_array_equal(back.codes[p], q.codes[p])
        np.testing.assert_array_equal(back.exponents[p], q.exponents[p])
    a, b = _flat(q.params), _flat(back.params)
    for p in a:
        np.testing.assert_array_equal(a[p], b[p])
    # the codes are stored as int8, the exponents as int32
    import orbax.checkpoint as ocp
    raw = ocp.StandardCheckpointer().restore(f"{path}/0/params")
    k = next(iter(q.codes))
    node = raw["params"]
    for key in k.split("/"):
        node = node[key]
    assert np.asarray(node).dtype == np.int8


def test_place__with_a_quantized_policy_is_legal(tmp_path):
    nl = synth_small()
    q = msqe_policy(6)
    out = placer.place(nl, method="rl", policy=q, samples=0)
    assert check_legality(out) == []
    save_quantized(q, tmp_path / "policy")
    again = placer.place(nl, method="rl", policy=str(tmp_path), samples=0)
    np.testing.assert_array_equal(again.node_xy, out.node_xy)


@pytest.mark.slow
def test_quantize_gradient__fine_tunes_thresholds_on_recorded_states():
    q = placer.quantize(small_policy(), bits=4, method="gradient",
                        netlist=synth_small(), steps=12, samples=0, batch_size=8)
    ft = q.meta["quantization"]["finetune"]
    assert ft["steps"] == 12 and ft["states"] == [20]    # the greedy episode's 20
    assert np.isfinite(ft["kl_last"])
    for p, c in q.codes.items():
        assert np.abs(np.asarray(c)).max() <= 7
        assert np.asarray(q.exponents[p]).dtype == np.int32


@pytest.mark.parametrize("kw", [{"bits": 9}, {"bits": 1}, {"method": "lsq"},
                                {"method": "gradient"}, {"steps": 5}])
def test_quantize__bad_input(kw):
    with pytest.raises(PlacerInputError):
        placer.quantize(small_policy(), **kw)


def test_load_policy__rejects_other_checkpoints(tmp_path):
    save_checkpoint(tmp_path / "x", 0, {"w": np.zeros(2)}, {"format": "other/1"})
    with pytest.raises(PlacerInputError, match="not a policy checkpoint"):
        load_policy(tmp_path / "x")
    with pytest.raises(PlacerInputError):
        placer.quantize(str(tmp_path / "x"))


def test_cli__quantize_then_place(tmp_path):
    pol = small_policy()
    save_checkpoint(tmp_path / "float" / "policy", 0, pol.params, pol.meta)
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        qc = OmegaConf.to_object(compose("quantize", overrides=[
            f"policy={tmp_path / 'float'}", "bits=6", f"output_dir={tmp_path / 'q'}"]))
        pc = OmegaConf.to_object(compose("place", overrides=[
            f"netlist={SYNTH / 'netlist.pb.txt'}",
            f"placement={SYNTH / 'initial.plc'}", "method=rl",
            f"policy={tmp_path / 'q'}", "options.samples=0",
            f"output_dir={tmp_path / 'placed'}", "plot=false", "progress=false"]))
    result = run_quantize(qc)
    assert result["bits"] == 6
    assert result["kernels"] == len(qparams.kernel_paths(pol.params))
    assert json.loads((tmp_path / "q" / "summary.json").read_text())["method"] == "msqe"
    placed = run_place(pc)
    assert placed["legality_violations"] == 0
