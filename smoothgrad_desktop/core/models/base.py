"""What every loaded model looks like to the rest of the app."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

from ..errors import AttributionError

# (left, top, right, bottom) in original-image pixels: the region the model input covers
Box = tuple[float, float, float, float]


@dataclass
class ImagePipeline:
    """Preprocessing from a PIL image to the model input ``(C, H, W)``, and its geometry.

    ``resize`` is either ``None`` (native size), ``("height", h)`` (scale so the height is ``h``, keep aspect, width at least ``h``),
    ``("short", s)`` (scale so the shorter side is ``s``) or ``("exact", (h, w))``; ``crop`` is a centre crop
    ``(h, w)`` or ``None``. ``mean``/``std`` normalise per channel after scaling pixels to [0, 1].
    """

    channels: int = 3
    resize: tuple | None = None
    crop: tuple[int, int] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    interpolation: int = Image.BILINEAR

    def _scaled_size(self, width: int, height: int) -> tuple[int, int]:
        if self.resize is None:
            return width, height
        kind, value = self.resize
        if kind == "height":  # at least square: a narrower image is stretched to the height
            return max(int(value), round(width * value / height)), int(value)
        if kind == "short":
            if width <= height:
                return int(value), max(1, int(value * height / width))
            return max(1, int(value * width / height)), int(value)
        if kind == "exact":
            h, w = value
            return int(w), int(h)
        raise ValueError(f"unknown resize {self.resize!r}")

    def output_shape(self, size: tuple[int, int]) -> tuple[int, int, int]:
        """``(C, H, W)`` of the model input for an image of ``size`` (width, height), computed without resizing."""
        sw, sh = self._scaled_size(*size)
        if self.crop is not None:
            sh, sw = self.crop
        return (self.channels, int(sh), int(sw))

    def check_size(self, size: tuple[int, int], name: str) -> None:
        """Refuse (one line, :class:`AttributionError`) an image whose preprocessing would make a model input (or
        a resized image before the crop) over the bounds of :mod:`..schema`, or stretch it more than
        :data:`~..schema.MAX_INPUT_ASPECT` times in one direction than the other. Nothing is resized before."""
        from ..schema import MAX_INPUT_ASPECT, check_model_input

        width, height = int(size[0]), int(size[1])
        sw, sh = self._scaled_size(width, height)
        if (sw, sh) != (width, height):
            check_model_input(name, self.channels, sh, sw, stage="resized image")
            stretch = (sw / width) / (sh / height)
            stretch = max(stretch, 1.0 / stretch)
            if stretch > MAX_INPUT_ASPECT:
                raise AttributionError(
                    f"{name}: preprocessing would stretch the {width} × {height} px image "
                    f"{f'{stretch:,.0f}'.replace(',', ' ')} times more in one direction than the other (the limit "
                    f"is {MAX_INPUT_ASPECT:g}); crop the image to the part you want explained")
        check_model_input(name, *self.output_shape((width, height)))

    def box(self, size: tuple[int, int]) -> Box:
        """The region of an original image of ``size`` (width, height) that the model input covers."""
        width, height = size
        sw, sh = self._scaled_size(width, height)
        if self.crop is None:
            return (0.0, 0.0, float(width), float(height))
        ch, cw = self.crop
        # torchvision's center_crop: top = round((h - ch) / 2), left = round((w - cw) / 2)
        left, top = round((sw - cw) / 2.0), round((sh - ch) / 2.0)
        fx, fy = width / sw, height / sh
        return (left * fx, top * fy, (left + cw) * fx, (top + ch) * fy)

    def visible(self, image: Image.Image) -> Image.Image:
        """The image as the model sees it, before normalisation (resized, cropped, right channel count)."""
        img = image.convert("L" if self.channels == 1 else "RGB")
        sw, sh = self._scaled_size(*img.size)
        if (sw, sh) != img.size:
            img = img.resize((sw, sh), self.interpolation)
        if self.crop is not None:
            ch, cw = self.crop
            left, top = round((sw - cw) / 2.0), round((sh - ch) / 2.0)
            if cw > sw or ch > sh:  # torchvision pads with zeros when the crop is larger than the image
                canvas = Image.new(img.mode, (max(cw, sw), max(ch, sh)))
                canvas.paste(img, (max(0, (cw - sw) // 2), max(0, (ch - sh) // 2)))
                img, sw, sh = canvas, canvas.size[0], canvas.size[1]
                left, top = round((sw - cw) / 2.0), round((sh - ch) / 2.0)
            img = img.crop((left, top, left + cw, top + ch))
        return img

    def __call__(self, image: Image.Image) -> torch.Tensor:
        img = self.visible(image)
        arr = np.asarray(img, dtype=np.float32) / 255.0
        arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
        x = torch.from_numpy(np.ascontiguousarray(arr))
        if self.mean is not None and self.std is not None:
            mean = torch.tensor(self.mean, dtype=torch.float32).view(-1, 1, 1)
            std = torch.tensor(self.std, dtype=torch.float32).view(-1, 1, 1)
            x = (x - mean) / std
        return x

    def describe(self) -> str:
        parts = ["greyscale" if self.channels == 1 else "RGB", "pixels/255"]
        if self.resize:
            parts.append(f"resize {self.resize[0]} {self.resize[1]}")
        if self.crop:
            parts.append(f"centre crop {self.crop[0]}x{self.crop[1]}")
        if self.mean is not None:
            parts.append(f"normalise mean={list(self.mean)} std={list(self.std)}")
        return ", ".join(parts)


@dataclass
class TransformPipeline:
    """Preprocessing done by a library's own transform, with :class:`ImagePipeline`'s interface.

    ``transform`` maps a PIL image to the model input ``(C, H, W)``: timm's ``create_transform`` of the model's
    resolved data config, or a transformers image processor. Calling the library itself is what makes the model
    input equal the library's preprocessing (transformers' default image processors resize tensors with
    torchvision, which PIL's resize does not reproduce to the bit). ``geometry`` is the same resize and crop as an
    :class:`ImagePipeline`, used for :meth:`box` (where the input lies in the original image) and for the mean/std
    that turn the input back into pixels; ``scale`` is the pixel scaling before normalisation (1/255)."""

    transform: Callable[[Image.Image], torch.Tensor]
    geometry: ImagePipeline
    source: str
    scale: float = 1.0 / 255.0
    exact: bool = True
    """False when ``geometry`` only approximates the library's size rule: the box is approximate, and the size
    bounds are left to the model (the library decides the input size)."""

    @property
    def channels(self) -> int:
        return self.geometry.channels

    @property
    def resize(self):
        return self.geometry.resize

    @property
    def crop(self):
        return self.geometry.crop

    @property
    def mean(self):
        return self.geometry.mean

    @property
    def std(self):
        return self.geometry.std

    @property
    def interpolation(self) -> int:
        return self.geometry.interpolation

    def __call__(self, image: Image.Image) -> torch.Tensor:
        x = self.transform(image.convert("L" if self.channels == 1 else "RGB"))
        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            raise AttributionError(f"{self.source} returned {type(x).__name__} "
                                   f"{tuple(getattr(x, 'shape', ()))}, expected a (C, H, W) tensor")
        return x.detach().to(torch.float32).contiguous()

    def visible(self, image: Image.Image) -> Image.Image:
        """The model input turned back into pixels (``x * std + mean``, divided by ``scale``): exactly what the
        model sees, whatever resampling the library used."""
        x = self(image)
        if self.mean is not None and self.std is not None:
            x = x * torch.tensor(self.std, dtype=x.dtype).view(-1, 1, 1) + torch.tensor(self.mean, dtype=x.dtype).view(-1, 1, 1)
        arr = (x / self.scale).round().clamp(0, 255).to(torch.uint8).numpy()
        if arr.shape[0] == 1:
            return Image.fromarray(arr[0], "L")
        return Image.fromarray(np.ascontiguousarray(arr[:3].transpose(1, 2, 0)), "RGB")

    def box(self, size: tuple[int, int]) -> Box:
        return self.geometry.box(size)

    def output_shape(self, size: tuple[int, int]) -> tuple[int, int, int]:
        return self.geometry.output_shape(size)

    def check_size(self, size: tuple[int, int], name: str) -> None:
        """The size bounds of :meth:`ImagePipeline.check_size`, on the library's resize and crop."""
        if self.exact:
            self.geometry.check_size(size, name)

    def describe(self) -> str:
        return f"{self.source}: {self.geometry.describe()}"


@dataclass
class LoadedModel:
    """A classifier ready for attribution: in ``eval()`` mode, on ``device``, with labels and preprocessing."""

    spec: str
    kind: str  # "embedded" | "torchvision" | "torchscript" | "export" | "timm" | "transformers"
    name: str
    module: Callable[[torch.Tensor], torch.Tensor]
    device: torch.device
    labels: list[str]
    pipeline: ImagePipeline | TransformPipeline
    weights_path: Path | None = None
    weights_sha256: str | None = None
    guided_ok: bool = True
    notes: list[str] = field(default_factory=list)
    weights_arg: str | None = None
    """The ``weights`` argument the model was loaded with (a path, an enum name, ``random`` or None)."""
    source: dict = field(default_factory=dict)
    """Where the model came from, for provenance: library and version, model name, config hash..."""
    layout: dict = field(default_factory=dict)
    """Inception v3 / GoogLeNet: ``{"transform_input": bool, "aux_logits": bool, "transform_input_source": str}``
    (``aux_logits``: whether the weights held the auxiliary classifiers, which are dropped for explaining)."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)

    def guided_refusal(self) -> str | None:
        """Why guided-backprop cannot run on this model, in one line, or None. Read from the model's module tree
        (TorchScript, non-ReLU activation modules); a run also refuses any other activation it meets."""
        from ..methods.guided_backprop import TORCHSCRIPT_REFUSAL, declared_activations, non_relu_refusal

        if not self.guided_ok or isinstance(self.module, torch.jit.ScriptModule):
            return TORCHSCRIPT_REFUSAL
        found = declared_activations(self.module)
        return non_relu_refusal(", ".join(found)) if found else None

    def label(self, index: int) -> str:
        return self.labels[index] if 0 <= index < len(self.labels) else f"class {index}"

    def to(self, device: torch.device) -> "LoadedModel":
        if hasattr(self.module, "to"):
            self.module = self.module.to(device)
        self.device = device
        return self

    def find_class(self, text: str) -> int:
        """A class index from ``text``: an integer index or a class name (case-insensitive, unique prefix)."""
        text = text.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        lowered = text.lower()
        exact = [i for i, name in enumerate(self.labels) if name.lower() == lowered]
        if exact:
            return exact[0]
        partial = [i for i, name in enumerate(self.labels) if name.lower().startswith(lowered)]
        if len(partial) == 1:
            return partial[0]
        if partial:
            shown = ", ".join(self.labels[i] for i in partial[:5])
            raise AttributionError(f"class name {text!r} is ambiguous: {shown}{'...' if len(partial) > 5 else ''}")
        raise AttributionError(f"no class named {text!r} in this model's {len(self.labels)} categories")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
