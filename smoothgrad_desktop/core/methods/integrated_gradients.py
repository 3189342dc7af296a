"""``integrated-gradients`` (Sundararajan et al. 2017, arXiv 1703.01365).

    IG(x) = (x - x') * integral_0^1 dS_c/dx (x' + a (x - x')) da

approximated with ``m`` evaluations of the gradient along the straight path from the baseline ``x'`` to ``x``.

Quadrature (``MethodContext.quadrature``):

* ``gauss-legendre`` (default): the ``m``-point Gauss-Legendre rule mapped to [0, 1]. Exact for polynomials of
  degree ``2m - 1`` along the path, so the completeness error (below) is the smallest of the four for the same
  cost on smooth models; on piecewise-linear (ReLU) models all rules converge like ``O(1/m)``.
* ``riemann-right``: nodes ``k/m``, ``k = 1..m``, weights ``1/m`` — the formula in the IG paper.
* ``riemann-middle``: nodes ``(k - 1/2)/m``, weights ``1/m``.
* ``trapezoid``: ``m`` equally spaced nodes including both ends, trapezoid weights.

Completeness: ``sum(IG(x)) ~= S_c(x) - S_c(x')`` (tested). The baseline ``x'`` is the black image passed through
the model's own preprocessing; for a raw tensor input it is the zero tensor.

Inside SmoothGrad, each noisy sample ``x_i`` gets its own IG from the same fixed baseline ``x'``.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from ..errors import AttributionError, Cancelled
from .base import Forward, MethodContext, input_gradient

QUADRATURES = ("gauss-legendre", "riemann-right", "riemann-middle", "trapezoid")


def gauss_legendre(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (ascending, in (-1, 1)) and weights of the ``m``-point Gauss–Legendre rule, in O(m) memory.

    numpy's ``leggauss`` finds the nodes as eigenvalues of an ``m × m`` companion matrix (O(m²) memory, O(m³)
    time: 800 MB at m = 10,000). Here each node is found by Newton's method on ``P_m``, evaluated with the
    three-term recurrence ``k P_k = (2k − 1) x P_{k−1} − (k − 1) P_{k−2}`` for all nodes at once, from Tricomi's
    initial guess ``(1 − 1/(8m²) + 1/(8m³)) cos(π (4k − 1) / (4m + 2))``, which is close enough that Newton
    converges quadratically from the first step. Only the ``⌈m/2⌉`` non-negative nodes are computed (the rule is
    symmetric). Weights: ``w_k = 2 / ((1 − x_k²) P'_m(x_k)²)``. Memory is a few arrays of ``m/2`` values; time is
    O(m²) numpy element operations (about a second at m = 10,000)."""
    if m < 1:
        raise AttributionError(f"Gauss–Legendre needs at least 1 node, got {m}")
    half = (m + 1) // 2
    k = np.arange(1, half + 1, dtype=np.float64)
    x = (1.0 - 1.0 / (8.0 * m * m) + 1.0 / (8.0 * m ** 3)) * np.cos(np.pi * (4.0 * k - 1.0) / (4.0 * m + 2.0))

    def legendre(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p_prev, p = np.ones_like(x), x.copy()
        for j in range(2, m + 1):
            p_prev, p = p, ((2.0 * j - 1.0) * x * p - (j - 1.0) * p_prev) / j
        dp = m * (x * p - p_prev) / ((x - 1.0) * (x + 1.0))
        return p, dp

    for _ in range(100):
        p, dp = legendre(x)
        step = p / dp
        x = x - step
        if np.max(np.abs(step)) <= 4.0 * np.finfo(np.float64).eps:
            break
    _, dp = legendre(x)
    w = 2.0 / ((1.0 - x) * (1.0 + x) * dp * dp)
    # x descends from near 1; mirror to the negative half (the middle node of an odd rule is 0, kept once)
    if m % 2:
        x[-1] = 0.0
        nodes = np.concatenate([-x, x[-2::-1]])
        weights = np.concatenate([w, w[-2::-1]])
    else:
        nodes = np.concatenate([-x, x[::-1]])
        weights = np.concatenate([w, w[::-1]])
    return nodes, weights


@functools.lru_cache(maxsize=8)
def _rule(rule: str, m: int) -> tuple[np.ndarray, np.ndarray]:
    if rule == "gauss-legendre":
        t, w = gauss_legendre(m)
        return (t + 1.0) / 2.0, w / 2.0
    if rule == "riemann-right":
        return np.arange(1, m + 1) / m, np.full(m, 1.0 / m)
    if rule == "riemann-middle":
        return (np.arange(1, m + 1) - 0.5) / m, np.full(m, 1.0 / m)
    if rule == "trapezoid":
        if m == 1:
            return np.array([1.0]), np.array([1.0])
        alphas = np.linspace(0.0, 1.0, m)
        w = np.full(m, 1.0 / (m - 1))
        w[0] = w[-1] = 0.5 / (m - 1)
        return alphas, w
    raise AttributionError(f"unknown quadrature {rule!r}; choose one of {', '.join(QUADRATURES)}")


def quadrature(rule: str, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``alpha_k`` in [0, 1] and weights ``w_k`` (summing to 1) of an ``m``-point rule (computed once per
    rule and ``m``; copies are returned)."""
    if m < 1:
        raise AttributionError(f"integrated gradients needs at least 1 step, got {m}")
    if rule not in QUADRATURES:
        raise AttributionError(f"unknown quadrature {rule!r}; choose one of {', '.join(QUADRATURES)}")
    alphas, weights = _rule(rule, int(m))
    return alphas.copy(), weights.copy()


def integrated_gradients(forward: Forward, x: torch.Tensor, target: int, *, context: MethodContext) -> torch.Tensor:
    alphas_np, weights_np = quadrature(context.quadrature, context.steps)
    dtype, device = x.dtype, x.device
    alphas = torch.as_tensor(alphas_np, dtype=dtype, device=device)
    weights = torch.as_tensor(weights_np, dtype=dtype, device=device)
    baseline = torch.zeros_like(x[0]) if context.baseline is None else context.baseline.to(device=device, dtype=dtype)
    delta = x - baseline  # (B, C, H, W)
    batch, m = x.shape[0], alphas.numel()
    # Every (sample, step) pair is one row; rows are processed in chunks of at most max_rows.
    total = torch.zeros_like(x)
    rows = batch * m
    chunk = max(1, int(context.max_rows))
    for start in range(0, rows, chunk):
        if start and context.cancel is not None and context.cancel():
            raise Cancelled()
        idx = torch.arange(start, min(rows, start + chunk), device=device)
        sample, step = idx // m, idx % m
        a = alphas[step].view(-1, 1, 1, 1)
        points = baseline + a * delta[sample]
        grad, _ = input_gradient(forward, points, target)
        total.index_add_(0, sample, grad * weights[step].view(-1, 1, 1, 1))
    return delta * total
