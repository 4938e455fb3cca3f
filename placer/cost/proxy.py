"""The proxy cost: w_wl x wirelength + w_den x density + w_cong x congestion."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from placer.cost.arrays import CostArrays, cost_arrays, pad_placement
from placer.cost.congestion import congestion_cost_from_maps, congestion_maps
from placer.cost.density import density_cost_from_map, density_map
from placer.cost.terms import DEFAULT_WEIGHTS, TERMS, weighted_sum
from placer.cost.wirelength import wirelength
from placer.errors import PlacerInputError
from placer.netlist.model import Netlist


def cost_terms(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray,
               weights: jnp.ndarray | tuple = DEFAULT_WEIGHTS,
               with_maps: bool = False) -> dict:
    """All proxy-cost terms of one placement. Pure; jit and vmap over (xy, orient).

    Args:
        arrays: the netlist's CostArrays.
        xy: (V, 2) node centres.
        orient: (V,) int orientation codes.
        weights: (wirelength, density, congestion) weights.
        with_maps: also return the (R, C) density and H/V congestion maps.

    Returns:
        dict with scalars wirelength, density, congestion, proxy, hpwl (and maps).
    """
    w = jnp.asarray(weights, dtype=xy.dtype)
    wl, hpwl = wirelength(arrays, xy, orient)
    dmap = density_map(arrays, xy, orient)
    den = density_cost_from_map(dmap)
    h, v, h_mac, v_mac = congestion_maps(arrays, xy, orient)
    cong = congestion_cost_from_maps(h, v)
    out = {"wirelength": wl, "density": den, "congestion": cong, "hpwl": hpwl}
    out["proxy"] = weighted_sum(out, w)
    if with_maps:
        out.update(density_map=dmap, congestion_h=h, congestion_v=v,
                   congestion_h_macro=h_mac, congestion_v_macro=v_mac)
    return out


@partial(jax.jit, static_argnames=("with_maps",))
def _terms_jit(arrays, xy, orient, weights, with_maps=False):
    return cost_terms(arrays, xy, orient, weights, with_maps)


@jax.jit
def _batch_terms_jit(arrays, xy, orient, weights):
    return jax.vmap(lambda a, b: cost_terms(arrays, a, b, weights))(xy, orient)


@dataclass
class ProxyCost:
    """Proxy-cost breakdown of one placement.

    density already includes Circuit Training's 0.5 factor (it is 0.5 x the
    mean of the top 10% cells); proxy = w_wl wirelength + w_den density +
    w_cong congestion with the weights given.
    """

    wirelength: float
    density: float
    congestion: float
    proxy: float
    hpwl: float
    weights: tuple = DEFAULT_WEIGHTS
    density_map: np.ndarray = field(default=None, repr=False)     # (R, C)
    congestion_h: np.ndarray = field(default=None, repr=False)    # (R, C)
    congestion_v: np.ndarray = field(default=None, repr=False)    # (R, C)
    congestion_h_macro: np.ndarray = field(default=None, repr=False)
    congestion_v_macro: np.ndarray = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {"proxy": self.proxy, "wirelength": self.wirelength,
                "density": self.density, "congestion": self.congestion,
                "hpwl": self.hpwl, "weights": list(self.weights)}


def _check_weights(weights) -> tuple:
    what = f"{len(TERMS)} finite numbers (weights of {', '.join(TERMS)})"
    try:
        w = tuple(float(x) for x in weights)
    except (TypeError, ValueError):
        raise PlacerInputError(f"weights must be {what}, got {weights!r}") from None
    if len(w) != len(TERMS) or not all(np.isfinite(w)):
        raise PlacerInputError(f"weights must be {what}, got {weights!r}")
    return w


def proxy_cost(netlist: Netlist, weights=DEFAULT_WEIGHTS) -> ProxyCost:
    """Circuit Training's proxy cost of the netlist's current placement.

    Computed in float64, so it matches the reference evaluator to ~1e-12.

    Args:
        netlist: a design with a placement (see load_netlist).
        weights: (wirelength, density, congestion) weights; default (1, 0.5, 0.5).
    """
    w = _check_weights(weights)
    with jax.enable_x64(True):
        arrays = cost_arrays(netlist, dtype=jnp.float64)
        xy, orient = pad_placement(netlist, arrays, dtype=jnp.float64)
        out = _terms_jit(arrays, xy, orient, jnp.asarray(w, jnp.float64),
                         with_maps=True)
        out = jax.device_get(out)
    return ProxyCost(
        wirelength=float(out["wirelength"]), density=float(out["density"]),
        congestion=float(out["congestion"]), proxy=float(out["proxy"]),
        hpwl=float(out["hpwl"]), weights=w,
        density_map=np.asarray(out["density_map"]),
        congestion_h=np.asarray(out["congestion_h"]),
        congestion_v=np.asarray(out["congestion_v"]),
        congestion_h_macro=np.asarray(out["congestion_h_macro"]),
        congestion_v_macro=np.asarray(out["congestion_v_macro"]),
    )


def batch_proxy_cost(netlist: Netlist, xy: np.ndarray, orient: np.ndarray | None = None,
                     weights=DEFAULT_WEIGHTS, dtype=jnp.float32) -> dict:
    """Proxy-cost terms of B placements of one netlist at once (vmap).

    Args:
        netlist: the design (its own placement is not used).
        xy: (B, V, 2) node centres, V = netlist.num_nodes.
        orient: (B, V) orientation codes; default: the netlist's.
        weights: (wirelength, density, congestion).
        dtype: jnp.float32 (fast) or jnp.float64 (exact).

    Returns:
        dict of (B,) numpy arrays: wirelength, density, congestion, proxy, hpwl.
    """
    w = _check_weights(weights)
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 3 or xy.shape[1:] != (netlist.num_nodes, 2):
        raise PlacerInputError(f"xy must have shape (B, {netlist.num_nodes}, 2), got "
                               f"{xy.shape}")
    b = xy.shape[0]
    if orient is None:
        orient = np.broadcast_to(np.maximum(netlist.node_orient, 0),
                                 (b, netlist.num_nodes))
    with jax.enable_x64(dtype == jnp.float64):
        arrays = cost_arrays(netlist, dtype=dtype)
        vc = arrays.node_size.shape[0]
        pxy = np.zeros((b, vc, 2))
        pxy[:, : netlist.num_nodes] = xy
        por = np.zeros((b, vc), np.int32)
        por[:, : netlist.num_nodes] = orient
        out = _batch_terms_jit(arrays, jnp.asarray(pxy, dtype), jnp.asarray(por),
                               jnp.asarray(w, dtype))
        return {k: np.asarray(v) for k, v in jax.device_get(out).items()}
