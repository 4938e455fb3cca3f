"""The cost of a partial placement: wirelength and density of the nodes placed
so far (the potential of the RL agent's reward shaping, placer.rl.shaping).

While an episode places macros one by one, the soft macros and the macros
still to place have no position yet. The partial cost counts only what is
placed:

* wirelength: the weighted HPWL of every net over its pins on placed nodes
  (a net with fewer than two placed pins adds 0), normalised as the proxy's
  wirelength cost, sum(w * HPWL) / ((W + H) * sum(w)), over all nets;
* density: the proxy's density cost of the map of the placed macros alone.

Both are exact (a full evaluation over the padded arrays, O(E + V (R + C))),
the terms of placer.cost.incremental's CostState restricted to the placed
nodes; congestion, whose routing needs every pin, is left out.

Dimensions: V nodes, E net entries, N nets, R x C grid.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from placer.cost.arrays import CostArrays, oriented_sizes, pin_positions
from placer.cost.density import density_cost_from_map, occupied_area
from placer.cost.grid import cell_size


def placed_net_hpwl(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray,
                    placed: jnp.ndarray) -> jnp.ndarray:
    """(N,) HPWL of each net over its pins on ``placed`` (V,) nodes (0 for a
    net with fewer than two placed pins, and for padding)."""
    n = arrays.num_nets
    pos = pin_positions(arrays, xy, orient)[arrays.entry_pin]          # (E, 2)
    on = placed[arrays.pin_node[arrays.entry_pin]]                      # (E,)
    seg = jnp.where(on, arrays.entry_net, n)
    hi = jax.ops.segment_max(pos, seg, num_segments=n + 1)[:n]
    lo = jax.ops.segment_min(pos, seg, num_segments=n + 1)[:n]
    count = jax.ops.segment_sum(on.astype(jnp.int32), seg, num_segments=n + 1)[:n]
    span = jnp.where((count[:, None] >= 2) & (arrays.net_weight[:, None] > 0),
                     hi - lo, 0.0)
    return span.sum(axis=1)


def placed_cost_terms(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray,
                      placed: jnp.ndarray) -> dict:
    """{"wirelength", "density"} of the placed nodes (see the module doc)."""
    count = jnp.sum(arrays.net_weight)
    count = jnp.where(count > 0, count, 1.0)
    hpwl = placed_net_hpwl(arrays, xy, orient, placed)
    wl = jnp.sum(arrays.net_weight * hpwl) / (arrays.canvas.sum() * count)
    rows, cols = arrays.grid_rows, arrays.grid_cols
    gw, gh = cell_size(arrays.canvas, rows, cols)
    area = occupied_area(xy, oriented_sizes(arrays, orient),
                         arrays.node_is_macro & placed, arrays.canvas, rows, cols)
    return {"wirelength": wl, "density": density_cost_from_map(area / (gw * gh))}


def placed_cost(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray,
                placed: jnp.ndarray, weights) -> jnp.ndarray:
    """w_wl * wirelength + w_density * density of the placed nodes (``weights``:
    the proxy's (wl, density, congestion) weights; congestion is not used)."""
    t = placed_cost_terms(arrays, xy, orient, placed)
    w = jnp.asarray(weights, xy.dtype)
    return w[0] * t["wirelength"] + w[1] * t["density"]


__all__ = ["placed_cost", "placed_cost_terms", "placed_net_hpwl"]
