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

import numpy as np
import torch

from ..errors import AttributionError, Cancelled
from .base import Forward, MethodContext, input_gradient

QUADRATURES = ("gauss-legendre", "riemann-right", "riemann-middle", "trapezoid")


def quadrature(rule: str, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``alpha_k`` in [0, 1] and weights ``w_k`` (summing to 1) of an ``m``-point rule."""
    if m < 1:
        raise AttributionError(f"integrated gradients needs at least 1 step, got {m}")
    if rule == "gauss-legendre":
        t, w = np.polynomial.legendre.leggauss(m)
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
