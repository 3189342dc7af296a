"""The embedded default model: a small, fully convolutional MNIST CNN.

No Qt here (``core`` is GUI-free).

Input: ``(N, 1, H, W)`` float32 in ``[0, 1]`` with **white strokes on a black background**, exactly as in
MNIST (the shipped sample images are white-on-black; a black-on-white scan must be inverted first, see
the app's MNIST preprocessing, ``embedded.MNIST_PIPELINE``). ``H, W >= 28``.
Output: ``(N, 10)`` pre-softmax logits (the paper's ``S_c``).

Architecture (LeNet-like, every non-linearity an ``nn.ReLU`` module, no BatchNorm, so ``eval()`` and
``train()`` differ only by dropout)::

    conv 5x5, 1->16, pad 2   ReLU   maxpool 2      28x28 -> 14x14
    conv 5x5, 16->32, pad 2  ReLU   maxpool 2      14x14 ->  7x7
    conv 7x7, 32->128        ReLU   (dropout)      "fully connected as convolution": one 28x28 window
    conv 1x1, 128->10                              one class map per digit
    global max over positions                      -> (N, 10)

On a 28x28 input the class maps are 1x1, so this is an ordinary classifier. On a wider canvas (e.g. 28x56 with
two digits side by side) the 7x7 layer slides over every 28-px window (stride 4 px in input space) and the global
max takes, per class, the best-scoring window, so each digit's class is high where that digit is; the model was
trained on such two-digit canvases so that both digits rank in its top-2.
"""

from __future__ import annotations

import torch
from PIL import Image
from torch import nn

__all__ = [
    "MNIST_INPUT_SIZE",
    "MNIST_LABELS",
    "MnistNet",
]

MNIST_LABELS: list[str] = [str(d) for d in range(10)]
MNIST_INPUT_SIZE: int = 28


class MnistNet(nn.Module):
    """Fully convolutional MNIST classifier with global max pooling (see module docstring)."""

    def __init__(self, num_classes: int = 10, dropout: float = 0.3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Conv2d(32, 128, kernel_size=7),  # covers one whole 28x28 window
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Conv2d(128, num_classes, kernel_size=1),
        )

    def class_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Per-position class scores ``(N, 10, H', W')``; ``H' = W' = 1`` for a 28x28 input."""
        return self.head(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(f"MnistNet expects (N, 1, H, W), got {tuple(x.shape)}")
        if x.shape[-2] < MNIST_INPUT_SIZE or x.shape[-1] < MNIST_INPUT_SIZE:
            raise ValueError(f"MnistNet needs H, W >= {MNIST_INPUT_SIZE}, got {tuple(x.shape[-2:])}")
        return self.class_maps(x).amax(dim=(-2, -1))
