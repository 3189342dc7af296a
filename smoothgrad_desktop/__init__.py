"""SmoothGrad Desktop: sensitivity maps (SmoothGrad and relatives), offline, on your own workstation."""

__version__ = "0.1.0"
