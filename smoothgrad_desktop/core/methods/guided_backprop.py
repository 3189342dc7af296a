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

Guided backprop is defined for ReLU networks only. A model that also applies another activation (GELU in Vision
Transformers and ConvNeXts, SiLU in EfficientNets, Hardswish, sigmoid gates, tanh, ...) has no guided rule for
those units: passing their gradient through unchanged would mix guided and plain backpropagation and still be
called "guided". The same mode therefore watches for them and refuses the model in one line, naming the
activation, the moment one is applied (:data:`OTHER_ACTIVATIONS`; in-place and ATen forms included).
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

_OTHER_ACTIVATION_NAMES = {
    "gelu": "GELU", "silu": "SiLU", "mish": "Mish", "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid",
    "elu": "ELU", "selu": "SELU", "celu": "CELU", "leaky_relu": "LeakyReLU", "rrelu": "RReLU", "prelu": "PReLU",
    "softplus": "Softplus", "hardtanh": "Hardtanh (ReLU6)", "relu6": "ReLU6", "sigmoid": "sigmoid", "tanh": "tanh",
    "logsigmoid": "LogSigmoid", "softsign": "Softsign", "tanhshrink": "Tanhshrink", "glu": "GLU", "expit": "sigmoid",
}


def _other_activation_functions() -> dict:
    found = {}
    holders = (F, torch, torch.Tensor, torch._C._nn, torch.special)
    for name, label in _OTHER_ACTIVATION_NAMES.items():
        for holder in holders:
            for attr in (name, name + "_"):
                func = getattr(holder, attr, None)
                if func is not None:
                    found[func] = label
        for attr in (name, name + "_"):
            packet = getattr(torch.ops.aten, attr, None)
            if packet is not None:
                found[packet] = label
                default = getattr(packet, "default", None)
                if default is not None:
                    found[default] = label
    return found


OTHER_ACTIVATIONS = _other_activation_functions()
"""Non-ReLU activation functions (torch functions, tensor methods, ATen ops) mapped to a display name."""


_MODULE_KEYWORDS = (("gelu", "GELU"), ("silu", "SiLU"), ("swish", "Swish"), ("mish", "Mish"), ("sigmoid", "sigmoid"),
                    ("tanh", "tanh"), ("softplus", "Softplus"), ("relu6", "ReLU6"), ("leakyrelu", "LeakyReLU"),
                    ("prelu", "PReLU"))
_MODULE_NAMES = {"ELU": "ELU", "SELU": "SELU", "CELU": "CELU", "RReLU": "RReLU", "GLU": "GLU"}

TORCHSCRIPT_REFUSAL = ("guided-backprop cannot reach the ReLUs inside a TorchScript model; use another method or load "
                       "the model as a torchvision architecture or torch.export program")


def declared_activations(module) -> list[str]:
    """Non-ReLU activations a model declares as submodules (``nn.GELU``, timm's and transformers' activation
    classes...), found without running it. A model can also call activations functionally: the guided mode checks
    every call while it runs; this is the quick look the model chooser uses."""
    found: list[str] = []
    modules = getattr(module, "modules", None)
    if modules is None:
        return found
    for sub in modules():
        cls = type(sub).__name__
        lowered = cls.lower().replace("_", "")
        label = _MODULE_NAMES.get(cls) or next((lab for key, lab in _MODULE_KEYWORDS if key in lowered), None)
        if label and label not in found:
            found.append(label)
    return found


def non_relu_refusal(activation: str) -> str:
    return (f"guided-backprop is defined for ReLU networks, and this model also applies {activation}, for which it "
            f"has no rule; use gradient, gradient-x-input or integrated-gradients")


class GuidedReLUMode(TorchFunctionMode):
    """While active, every ReLU call in this thread is replaced by the guided ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        other = OTHER_ACTIVATIONS.get(func)
        if other is not None:
            raise AttributionError(non_relu_refusal(other))
        if func in _RELUS:
            self.calls += 1
            inp = args[0] if args else kwargs["input"]
            return _GuidedReLU.apply(inp)
        return func(*args, **kwargs)


def guided_backprop(forward: Forward, x: torch.Tensor, target: int, *, context: MethodContext) -> torch.Tensor:
    if not context.guided_ok or isinstance(forward, torch.jit.ScriptModule):
        raise AttributionError(TORCHSCRIPT_REFUSAL)
    mode = GuidedReLUMode()
    with mode:
        grad, _ = input_gradient(forward, x, target)
    if mode.calls == 0:
        raise AttributionError("guided-backprop found no ReLU in this model: its result would be the plain gradient")
    return grad
