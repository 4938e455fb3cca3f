"""How many (soft macro, macro) pairs overlap during the force-directed pass
on Ariane133: the work a candidate-pair repulsion would still have to do.

    python experiments/fd_overlap_count.py

Hard macros stay where the commercial flow put them (legalized.plc); the
soft macros start at the canvas centre (Circuit Training's pass). For
schedules cut after a given number of steps of each stage, prints the
overlapping pairs (boxes overlapping strictly, as the pass tests them) and
the most for one soft macro, beside the padded (S, M) pairs the dense
repulsion compares at every step.
"""

from __future__ import annotations

import importlib

import jax.numpy as jnp
import numpy as np
from _paths import SHARED

import placer
from placer.cost.arrays import cost_arrays, oriented_sizes, pad_placement
from placer.netlist.model import SOFT_MACRO

# the module, not the function placer.stdcell re-exports under the same name
F = importlib.import_module("placer.stdcell.force_directed")
A = SHARED / "netlists" / "ariane133_ng45"


def main() -> None:
    nl = placer.load_netlist(str(A / "netlist.pb.txt.gz"), str(A / "legalized.plc"))
    arrays = cost_arrays(nl)
    fd = F.fd_arrays(nl, arrays)
    xy, orient = pad_placement(nl, arrays)
    size = np.asarray(oriented_sizes(arrays, orient))
    soft_node, macro_node = np.asarray(fd.soft_node), np.asarray(fd.macro_node)
    soft_on, macro_on = np.asarray(fd.soft_mask), np.asarray(fd.macro_mask)
    half_s, half_m = size[soft_node] * 0.5, size[macro_node] * 0.5
    movable = np.zeros(xy.shape[0], bool)
    movable[: nl.num_nodes] = nl.node_kind == SOFT_MACRO
    print(f"soft macros {soft_on.sum()}, macros {macro_on.sum()}; the dense pass "
          f"compares {len(soft_node)} x {len(macro_node)} = "
          f"{len(soft_node) * len(macro_node):,} pairs per repulsion step\n")
    print("| steps run (stage 1, 2, 3) | overlapping pairs | most for one soft macro |")
    print("|---|---|---|")
    for steps in [(100, 0, 0), (100, 1, 0), (100, 10, 0), (100, 50, 0), (100, 100, 0),
                  (100, 100, 1), (100, 100, 50), (100, 100, 100)]:
        out = np.asarray(F.force_directed_jit(arrays, xy, orient, jnp.asarray(movable),
                                              F.FDSchedule(num_steps=steps), fd=fd))
        c_s, c_m = out[soft_node], out[macro_node]
        lo_s, hi_s, lo_m, hi_m = c_s - half_s, c_s + half_s, c_m - half_m, c_m + half_m
        ov = np.ones((len(c_s), len(c_m)), bool)
        for k in (0, 1):
            ov &= ((lo_s[:, None, k] < hi_m[None, :, k])
                   & (lo_m[None, :, k] < hi_s[:, None, k]))
        ov &= soft_on[:, None] & macro_on[None, :]
        # a soft macro against itself always overlaps: not a pair
        ov &= soft_node[:, None] != macro_node[None, :]
        print(f"| {steps} | {int(ov.sum()):,} | {int(ov.sum(1).max())} |")


if __name__ == "__main__":
    main()
