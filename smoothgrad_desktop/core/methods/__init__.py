"""Base attribution methods, one per module, behind one call shape (see :mod:`.base`)."""

from __future__ import annotations

from .base import BaseMethod, Forward, MethodContext, class_scores, input_gradient
from .gradient import gradient
from .gradient_x_input import gradient_x_input
from .guided_backprop import GuidedReLUMode, guided_backprop
from .integrated_gradients import QUADRATURES, integrated_gradients, quadrature

METHODS: dict[str, BaseMethod] = {
    "gradient": gradient,
    "gradient-x-input": gradient_x_input,
    "integrated-gradients": integrated_gradients,
    "guided-backprop": guided_backprop,
}

METHOD_LABELS = {
    "gradient": "Gradient",
    "gradient-x-input": "Gradient × Input",
    "integrated-gradients": "Integrated Gradients",
    "guided-backprop": "Guided Backprop",
}


def method_refusals(model) -> dict[str, str]:
    """The methods that cannot run on ``model`` (a :class:`~smoothgrad_desktop.core.models.LoadedModel`), each with
    the one-line reason: Guided Backprop on TorchScript models and on models with non-ReLU activations
    (``model.guided_refusal()``). The app disables these choices and shows the reason."""
    reason = model.guided_refusal()
    return {"guided-backprop": reason} if reason else {}


def evaluations_per_sample(method: str, steps: int) -> int:
    """Model input rows (forward + backward) one sample of ``method`` costs."""
    return steps if method == "integrated-gradients" else 1


__all__ = [
    "METHODS", "METHOD_LABELS", "QUADRATURES", "BaseMethod", "Forward", "GuidedReLUMode", "MethodContext",
    "class_scores", "evaluations_per_sample", "method_refusals", "gradient", "gradient_x_input", "guided_backprop",
    "input_gradient", "integrated_gradients", "quadrature",
]
