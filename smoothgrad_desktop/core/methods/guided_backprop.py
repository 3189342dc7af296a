"""``guided-backprop`` (Springenberg et al. 2014, arXiv 1412.6806).

The backward pass through every ReLU lets gradient through only where the forward input was positive **and**
the incoming gradient is positive.

Every ReLU is guided, however the model calls it: ``nn.ReLU`` modules, ``F.relu``/``F.relu_``, ``torch.relu``/
``torch.relu_``, ``Tensor.relu``/``Tensor.relu_`` and the ATen ops ``aten.relu`` that ``torch.export`` graphs call.
This is done with a :class:`torch.overrides.TorchFunctionMode`, which sees every torch function call made while it is
active (its stack is thread-local, so a run in a worker thread does not affect others). Captum's ``GuidedBackprop``
hooks ``nn.ReLU`` modules only and silently returns the plain gradient for models such as torchvision's
Inception v3, whose ``BasicConv2d`` calls ``F.relu``.

TorchScript modules run compiled graphs Python cannot intercept; guided backprop refuses them rather than
returning the plain gradient under a wrong name.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from ..errors import AttributionError
from .base import Forward, MethodContext, input_gradient


class _GuidedReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inp):
        out = inp.clamp(min=0)
        ctx.save_for_backward(inp)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (inp,) = ctx.saved_tensors
        return grad_out.clamp(min=0) * (inp > 0).to(grad_out.dtype)


def _relu_functions() -> frozenset:
    funcs = {F.relu, F.relu_, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}
    aten = torch.ops.aten
    for name in ("relu", "relu_"):
        packet = getattr(aten, name, None)
        if packet is not None:
            funcs.add(packet)
            funcs.add(packet.default)
    return frozenset(funcs)


_RELUS = _relu_functions()


class GuidedReLUMode(TorchFunctionMode):
    """While active, every ReLU call in this thread is replaced by the guided ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _RELUS:
            self.calls += 1
            inp = args[0] if args else kwargs["input"]
            return _GuidedReLU.apply(inp)
        return func(*args, **kwargs)


def guided_backprop(forward: Forward, x: torch.Tensor, target: int, *, context: MethodContext) -> torch.Tensor:
    if not context.guided_ok or isinstance(forward, torch.jit.ScriptModule):
        raise AttributionError(
            "guided-backprop cannot reach the ReLUs inside a TorchScript model; use another method "
            "or load the model as a torchvision architecture or torch.export program"
        )
    mode = GuidedReLUMode()
    with mode:
        grad, _ = input_gradient(forward, x, target)
    if mode.calls == 0:
        raise AttributionError("guided-backprop found no ReLU in this model: its result would be the plain gradient")
    return grad
