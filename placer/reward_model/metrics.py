"""Quality measures of a cost predictor: R^2, Kendall's tau, pairwise ranking.

All host-side numpy (and scipy's Kendall tau, which jax already depends on).
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot (nan when y is constant).

    Example: y = (1, 2, 3), pred = (1, 2, 4): SS_res = 1, SS_tot = 2, R^2 = 0.5.
    """
    y = np.asarray(y, np.float64)
    pred = np.asarray(pred, np.float64)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot == 0.0:
        return float("nan")
    return 1.0 - float(np.sum((y - pred) ** 2)) / ss_tot


def kendall_tau(y: np.ndarray, pred: np.ndarray) -> float:
    """Kendall's tau-b between truth and prediction (nan when undefined)."""
    if len(y) < 2:
        return float("nan")
    return float(stats.kendalltau(y, pred).statistic)


def pairwise_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Share of pairs with distinct truths that the prediction orders alike.

    A tie in the prediction counts half. Example: y = (1, 2, 3), pred =
    (1, 3, 2): pairs (1,2) and (1,3) agree, (2,3) does not: 2 / 3.
    """
    y = np.asarray(y, np.float64)
    pred = np.asarray(pred, np.float64)
    dy = np.sign(y[:, None] - y[None, :])
    dp = np.sign(pred[:, None] - pred[None, :])
    upper = np.triu(np.ones_like(dy, bool), 1) & (dy != 0)
    n = int(upper.sum())
    if n == 0:
        return float("nan")
    agree = (dy == dp) & upper
    ties = (dp == 0) & upper
    return (float(agree.sum()) + 0.5 * float(ties.sum())) / n


def prediction_report(y: np.ndarray, pred: np.ndarray, terms) -> dict:
    """{term: {r2, tau, pairwise}} for columns of y and pred (B, T)."""
    return {t: {"r2": r2_score(y[:, i], pred[:, i]),
                "tau": kendall_tau(y[:, i], pred[:, i]),
                "pairwise": pairwise_accuracy(y[:, i], pred[:, i])}
            for i, t in enumerate(terms)}
