"""``gradient-x-input``: ``x * dS_c/dx`` (element-wise), evaluated at each (possibly noisy) input."""

from __future__ import annotations

import torch

from .base import Forward, MethodContext, input_gradient


def gradient_x_input(forward: Forward, x: torch.Tensor, target: int, *, context: MethodContext) -> torch.Tensor:
    grad, _ = input_gradient(forward, x, target)
    return grad * x
