"""``gradient``: the vanilla sensitivity map ``M_c(x) = dS_c/dx`` (Simonyan et al. 2013), signed.

Unlike Captum's ``Saliency`` (which returns ``|dS_c/dx|`` unless ``abs=False``), the raw signed gradient is
returned; taking absolute values is a display choice made later.
"""

from __future__ import annotations

import torch

from .base import Forward, MethodContext, input_gradient


def gradient(forward: Forward, x: torch.Tensor, target: int, *, context: MethodContext) -> torch.Tensor:
    grad, _ = input_gradient(forward, x, target)
    return grad
