"""A small ImageNet-shaped CNN (3 x 224 x 224 in, ImageNet normalisation, BatchNorm + ReLU, stride-2 stem and
max-pool, global average pool) trained on MNIST digits upscaled to 224 px by ``scripts/train_digits224.py``.

It gives the bf16 fidelity gate and the benchmarks a network with *trained* weights at ImageNet input size without
downloading anything: random weights give gradients with no structure, on which any precision looks faithful or
unfaithful by accident."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

WEIGHTS = Path(__file__).resolve().parent / "data" / "digits224.pt"
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def _block(cin: int, cout: int, k: int, s: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=False)]


class Digits224Net(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_block(3, 32, 7, 2), nn.MaxPool2d(3, 2, 1),  # 224 -> 112 -> 56
            *_block(32, 64, 3, 2), *_block(64, 64, 3, 1),  # 28
            *_block(64, 128, 3, 2), *_block(128, 128, 3, 1),  # 14
            *_block(128, 256, 3, 2),  # 7
        )
        self.fc = nn.Linear(256, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean(dim=(2, 3)))


def to_input(digits: torch.Tensor) -> torch.Tensor:
    """``(N, 28, 28)`` digits in [0, 1] -> ``(N, 3, 224, 224)`` ImageNet-normalised model inputs."""
    big = F.interpolate(digits.unsqueeze(1), size=(224, 224), mode="bilinear", align_corners=False)
    return (big.expand(-1, 3, -1, -1) - MEAN) / STD


def load(path: Path = WEIGHTS) -> Digits224Net:
    net = Digits224Net()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.eval()
