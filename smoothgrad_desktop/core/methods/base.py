"""The one call shape every base attribution method shares.

A base method is a function ``method(forward, x, target, *, context) -> Tensor`` where

* ``forward`` maps a batch ``(B, C, H, W)`` to class scores ``(B, K)`` (pre-softmax logits);
* ``x`` is a batch of model inputs ``(B, C, H, W)`` on the model's device (no grad required);
* ``target`` is the class index ``c`` (or, for every method but integrated gradients, a tensor of one class
  index per row: several inputs batched together);
* ``context`` (:class:`MethodContext`) carries per-method options (IG steps, baseline, forward batch limit);

and the result is the attribution ``M_c(x_b)`` for every row ``b``, same shape as ``x``, detached.

All methods use the batch-sum trick: one backward pass of ``sum_b S_c(x_b)`` gives every row its own
gradient. That is exact only when rows do not interact, i.e. with the model in ``eval()`` mode; the model
loaders in :mod:`smoothgrad_desktop.core.models` always hand out models in eval mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import torch

from ..errors import AttributionError

Forward = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class MethodContext:
    steps: int = 50
    """Integration steps ``m`` for integrated gradients."""
    baseline: torch.Tensor | None = None
    """IG baseline ``x'`` of shape ``(C, H, W)``; ``None`` means the zero tensor."""
    quadrature: str = "gauss-legendre"
    """IG quadrature rule, see :mod:`.integrated_gradients`."""
    max_rows: int = 64
    """Most model inputs one forward/backward pass may hold (methods with inner loops chunk by it)."""
    guided_ok: bool = True
    """False for compiled graphs (TorchScript) whose ReLUs Python cannot reach."""
    cancel: Callable[[], bool] | None = None
    """Checked by methods with inner loops (integrated gradients) between their chunks; True raises
    :class:`~smoothgrad_desktop.core.errors.Cancelled`, so a long batch still stops within one chunk."""


class BaseMethod(Protocol):
    def __call__(self, forward: Forward, x: torch.Tensor, target: int, *, context: MethodContext) -> torch.Tensor: ...


def class_scores(forward: Forward, x: torch.Tensor) -> torch.Tensor:
    """Run the model and check that it returned one row of scores per input."""
    scores = forward(x)
    if isinstance(scores, (tuple, list)):  # e.g. (logits, aux) from a model left in train mode
        scores = scores[0]
    if hasattr(scores, "logits"):  # torchvision InceptionOutputs / GoogLeNetOutputs
        scores = scores.logits
    if not isinstance(scores, torch.Tensor):
        raise AttributionError(f"the model returned {type(scores).__name__}, expected a tensor of class scores")
    if scores.dim() != 2 or scores.shape[0] != x.shape[0]:
        raise AttributionError(
            f"the model returned scores of shape {tuple(scores.shape)}; expected (N, K) = ({x.shape[0]}, classes)"
        )
    return scores


def input_gradient(forward: Forward, x: torch.Tensor, target: int | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``dS_target/dx`` for every row of ``x`` in one backward pass, and the scores ``S(x)`` (detached).

    ``target`` is one class index for every row, or a tensor of ``B`` indices, one per row (several inputs batched
    together, each with its own class)."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        scores = class_scores(forward, xg)
        if isinstance(target, torch.Tensor):
            rows = target.to(device=scores.device, dtype=torch.long).view(-1, 1)
            if rows.shape[0] != scores.shape[0]:
                raise AttributionError(f"{rows.shape[0]} targets for {scores.shape[0]} rows")
            if rows.numel() and not (0 <= int(rows.min()) and int(rows.max()) < scores.shape[1]):
                raise AttributionError(f"a target class is out of range: the model has {scores.shape[1]} classes")
            picked = scores.gather(1, rows)
        else:
            if not 0 <= target < scores.shape[1]:
                raise AttributionError(f"target class {target} is out of range: the model has {scores.shape[1]} classes")
            picked = scores[:, target]
        (grad,) = torch.autograd.grad(picked.sum(), xg)
    return grad.detach(), scores.detach()
