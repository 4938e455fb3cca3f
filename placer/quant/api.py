"""``placer.quantize``: a hardware-friendly quantized copy of a policy, and its
checkpoint format.

A QuantizedPolicy is a Policy whose ``params`` are the dequantized weights
(each kernel exactly codes * 2^e, biases float), so everything that runs a
Policy (placer.place(method="rl"), best_episode) runs it unchanged; it also
carries the integer ``codes`` and ``exponents`` themselves.

Checkpoint (format QUANT_FORMAT, an orbax checkpoint like a policy's):

    params/    {"params": the parameter tree with every quantized kernel
                replaced by its codes (int8 for b <= 8), biases float32,
                "exponents": the quantized kernels' int32 exponents, nested
                like the parameters}
    meta/      the float policy's metadata, format QUANT_FORMAT and
                "quantization": bits, method, per_channel, kernels (paths),
                range [-Q, Q], and how the states for fine-tuning were made

load_policy reads it (and so does ``placer-place method=rl policy=<dir>``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import placer.quant.fake as fake
import placer.quant.params as qparams
from placer.checkpoint import save_checkpoint
from placer.config import QUANT_METHODS
from placer.errors import PlacerInputError
from placer.netlist.model import Netlist
from placer.quant.distill import DistillConfig, distill, record_states
from placer.rl.networks import uncommitted
from placer.rl.policy import Policy, load_policy, register_policy_format

# The checkpoint format of a quantized policy (integer codes + power-of-two
# exponents); registered with load_policy at the end of this module.
QUANT_FORMAT = "placer-policy-quant/1"
METHODS = QUANT_METHODS
# Default fine-tuning steps: msqe is post-training only unless asked for.
DEFAULT_STEPS = {"msqe": 0, "gradient": 300}


@dataclasses.dataclass
class QuantizedPolicy(Policy):
    """A Policy with quantized kernels.

    Attributes:
        net, params, meta: as Policy's; params hold the dequantized kernels
            (codes * 2^e) and the float biases.
        codes: {path: int32 codes in [-Q, Q]}.
        exponents: {path: int32 exponent, () or (C,) per channel}.
        bits: the bit width b (Q = 2^(b-1) - 1).
        method: "msqe" | "gradient".
        per_channel: exponents per output channel.
    """

    codes: dict = dataclasses.field(default_factory=dict)
    exponents: dict = dataclasses.field(default_factory=dict)
    bits: int = 8
    method: str = "msqe"
    per_channel: bool = False


def _nest(flat: dict[str, Any]) -> dict:
    out: dict = {}
    for path, x in flat.items():
        node = out
        *head, last = path.split("/")
        for k in head:
            node = node.setdefault(k, {})
        node[last] = x
    return out


def _get(tree: Any, path: str) -> Any:
    node = tree
    for k in path.split("/"):
        node = node[k]
    return node


def _code_dtype(bits: int):
    return np.int8 if bits <= 8 else np.int16


def build(policy: Policy, weights: Any, exps: dict[str, jax.Array], bits: int,
          method: str, per_channel: bool, info: dict | None = None) -> QuantizedPolicy:
    """The QuantizedPolicy of ``weights`` (the policy's parameter tree) under
    the exponents ``exps``."""
    exps = {p: jnp.asarray(e, jnp.int32) for p, e in exps.items()}
    codes = qparams.codes(weights, exps, bits)
    params = uncommitted(qparams.dequantized(weights, codes, exps))
    meta = {**policy.meta, "format": QUANT_FORMAT,
            "quantization": {"bits": bits, "method": method,
                             "per_channel": per_channel,
                             "range": [-fake.qmax(bits), fake.qmax(bits)],
                             "kernels": sorted(codes), **(info or {})}}
    return QuantizedPolicy(net=policy.net, params=params, meta=meta,
                           codes=uncommitted(codes), exponents=uncommitted(exps),
                           bits=bits, method=method, per_channel=per_channel)


def quantize(policy: Policy | str | os.PathLike, bits: int = 8, method: str = "msqe",
             per_channel: bool = False,
             netlist: Netlist | Sequence[Netlist] | None = None,
             steps: int | None = None, samples: int = 8, batch_size: int = 32,
             learning_rate: float = 1e-4, threshold_lr: float = 0.01,
             freeze_after: int = 4, seed: int = 0,
             log: Callable[[str], None] | None = None) -> QuantizedPolicy:
    """A hardware-friendly quantized copy of a placement policy.

    Every weight kernel (a leaf named ``kernel`` with ndim >= 2, whatever
    module holds it) becomes b-bit integer codes in the symmetric range
    [-(2^(b-1) - 1), 2^(b-1) - 1] times a power of two 2^e, e an integer per
    tensor (or per output channel). Biases stay float.

    Args:
        policy: a Policy (or QuantizedPolicy) or a checkpoint path.
        bits: b, 2..8.
        method: "msqe": each kernel's exponent minimises the mean squared
            quantization error (post-training; with ``netlist`` and
            steps > 0, followed by MSQE-based quantization-aware
            fine-tuning); "gradient": log2 thresholds learned by TQT's
            straight-through gradients (normalised, oscillating ones frozen)
            while the weights are fine-tuned, by distilling the float
            policy's action distribution. "gradient" needs ``netlist``.
        per_channel: one exponent per output channel instead of per tensor.
        netlist: the design(s), on the policy's grid, whose states the
            fine-tuning uses: the float policy's greedy and ``samples``
            sampled episodes on each are recorded, and the fake-quantized
            policy is fitted to the float policy's masked action
            distribution on them (KL(float || quantized)).
        steps: fine-tuning steps; None: 300 for "gradient", 0 for "msqe".
        samples: sampled episodes recorded per netlist (plus the greedy one).
        batch_size, learning_rate, threshold_lr, freeze_after, seed: the
            fine-tuning's (see placer.quant.distill.DistillConfig).
        log: progress lines.

    Returns:
        a QuantizedPolicy; ``save_quantized`` writes it, load_policy reads it.

    Raises:
        PlacerInputError: bad bits, an unknown method, "gradient" (or
            steps > 0) without a netlist, a netlist on another grid, or a path
            that is not a policy checkpoint.
    """
    bits = fake.check_bits(bits)
    if method not in METHODS:
        raise PlacerInputError(f"unknown quantization method {method!r}; known: "
                               f"{', '.join(METHODS)}")
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    steps = DEFAULT_STEPS[method] if steps is None else int(steps)
    if steps < 0:
        raise PlacerInputError(f"steps must be >= 0, got {steps}")
    netlists = ([] if netlist is None else
                [netlist] if isinstance(netlist, Netlist) else list(netlist))
    if (method == "gradient" or steps > 0) and not netlists:
        raise PlacerInputError(
            f"method={method!r} with {steps} fine-tuning steps needs a netlist "
            "(on the policy's grid) to record states on")
    if method == "gradient" and steps == 0:
        raise PlacerInputError("method='gradient' needs steps > 0")
    info: dict = {}
    if steps == 0:
        exps = qparams.exponents(policy.params, bits, "msqe", per_channel)
        weights = policy.params
    else:
        sets = [record_states(policy, nl, samples=samples, seed=seed)
                for nl in netlists]
        cfg = DistillConfig(method=method, bits=bits, per_channel=per_channel,
                            steps=steps, batch_size=batch_size,
                            learning_rate=learning_rate, threshold_lr=threshold_lr,
                            freeze_after=freeze_after, seed=seed)
        weights, exps, summary = distill(policy.net, policy.params, sets, cfg, log)
        info = {"finetune": {**dataclasses.asdict(cfg), **summary,
                             "netlists": [s.name for s in sets],
                             "states": [s.size for s in sets],
                             "samples": samples}}
    return build(policy, weights, exps, bits, method, per_channel, info)


def save_quantized(policy: QuantizedPolicy, directory: str | os.PathLike,
                   step: int | None = None) -> str:
    """Writes the quantized checkpoint (integer codes, exponents, float
    biases, metadata) into ``directory``; returns its absolute path."""
    dtype = _code_dtype(policy.bits)
    stored = qparams.map_kernels(
        policy.params, lambda p, w: np.asarray(policy.codes[p]).astype(dtype))
    tree = {"params": jax.tree.map(np.asarray, stored),
            "exponents": _nest({p: np.asarray(e, np.int32)
                                for p, e in policy.exponents.items()})}
    directory = os.path.abspath(os.fspath(directory))
    step = int(policy.meta.get("update", 0)) if step is None else int(step)
    save_checkpoint(directory, step, tree, policy.meta, max_to_keep=1)
    return directory


def from_checkpoint(ckpt, path: str, net) -> QuantizedPolicy:
    """The QuantizedPolicy of a restored QUANT_FORMAT checkpoint."""
    meta = ckpt.meta
    q = meta.get("quantization") or {}
    try:
        bits = fake.check_bits(int(q["bits"]))
        stored, exps_tree = ckpt.params["params"], ckpt.params["exponents"]
        paths = list(q["kernels"])
        codes = {p: np.asarray(_get(stored, p)) for p in paths}
        exps = {p: np.asarray(_get(exps_tree, p)) for p in paths}
    except (KeyError, TypeError, ValueError) as e:
        raise PlacerInputError(f"a malformed quantized policy checkpoint ({e})",
                               path) from None
    if sorted(qparams.kernel_paths(stored)) != sorted(paths):
        raise PlacerInputError("a malformed quantized policy checkpoint (its "
                               "kernels are not those its metadata lists)", path)
    qm = fake.qmax(bits)
    for p in paths:
        c = codes[p]
        if not np.issubdtype(c.dtype, np.integer) or (c.size and np.abs(c).max() > qm):
            raise PlacerInputError(f"kernel {p}: codes are not {bits}-bit integers",
                                   path)
        if not np.issubdtype(exps[p].dtype, np.integer):
            raise PlacerInputError(f"kernel {p}: exponents are not integers", path)
    codes = {p: jnp.asarray(c, jnp.int32) for p, c in codes.items()}
    exps = {p: jnp.asarray(e, jnp.int32) for p, e in exps.items()}
    params = qparams.map_kernels(stored,
                                 lambda p, w: fake.dequantize(codes[p], exps[p]))
    return QuantizedPolicy(net=net, params=uncommitted(params), meta=meta,
                           codes=codes, exponents=exps, bits=bits,
                           method=str(q.get("method", "msqe")),
                           per_channel=bool(q.get("per_channel", False)))


register_policy_format(QUANT_FORMAT, from_checkpoint)

__all__ = ["DEFAULT_STEPS", "METHODS", "QUANT_FORMAT", "QuantizedPolicy", "build",
           "from_checkpoint", "quantize", "save_quantized"]
