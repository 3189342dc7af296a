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


def evaluations_per_sample(method: str, steps: int) -> int:
    """Model input rows (forward + backward) one sample of ``method`` costs."""
    return steps if method == "integrated-gradients" else 1


__all__ = [
    "METHODS", "METHOD_LABELS", "QUADRATURES", "BaseMethod", "Forward", "GuidedReLUMode", "MethodContext",
    "class_scores", "evaluations_per_sample", "gradient", "gradient_x_input", "guided_backprop",
    "input_gradient", "integrated_gradients", "quadrature",
]
