"""torchvision classification architectures, strictly offline.

Weights come from a state_dict file the user names (``--weights PATH``) or from the local torch hub cache
(``$TORCH_HOME/hub/checkpoints/<file>``) for a torchvision weights enum such as ``Inception_V3_Weights.IMAGENET1K_V1``;
nothing is ever downloaded. Preprocessing and category names come from the weights' metadata, which ships inside
torchvision. ``--weights random`` gives a randomly initialised network (for timing and sanity checks).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torchvision
from torchvision.transforms import InterpolationMode

from ..errors import ModelLoadError
from ..paths import display_name, printable, resolve_path
from .base import ImagePipeline, LoadedModel, sha256_file
from .weights import apply_state_dict, load_state_dict_file

_PIL_INTERPOLATION = {InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3, InterpolationMode.NEAREST: 0}
_AUX_ARCHS = {"inception_v3": ("AuxLogits",), "googlenet": ("aux1", "aux2")}
LAYOUT_ARCHS = tuple(_AUX_ARCHS)
"""Architectures whose layout is not fixed by their name: ``transform_input`` and ``aux_logits``."""
DEFAULT_TRANSFORM_INPUT = True
"""``transform_input`` when nothing says otherwise. On, because torchvision's own pretrained Inception v3 and
GoogLeNet weights need it (they were trained on inputs scaled to [-1, 1]; ``transform_input`` maps the ImageNet
normalisation to that), and networks fine-tuned from them, the usual way such a state_dict is made, inherit it
(``inception_v3(weights=...)`` sets it). A network trained from scratch with torchvision's constructor defaults
has it off: say ``--transform-input off`` (or untick the app's "Input transform") for those. The weights cannot
tell the two apart; the choice is recorded in the provenance and in the model's notes."""


def architectures() -> list[str]:
    """Names of torchvision's classification architectures."""
    return sorted(torchvision.models.list_models(module=torchvision.models))


def is_architecture(name: str) -> bool:
    return name in set(architectures())


def hub_checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def _weights_enum(arch: str):
    try:
        return torchvision.models.get_model_weights(arch)
    except (ValueError, KeyError) as exc:
        raise ModelLoadError(f"unknown torchvision architecture {arch!r}") from exc


def resolve_weights_enum(arch: str, text: str | None):
    """``None`` -> the architecture's DEFAULT weights; ``IMAGENET1K_V1`` or ``Inception_V3_Weights.IMAGENET1K_V1``
    -> that entry; anything else -> ``None`` (not an enum name)."""
    enum = _weights_enum(arch)
    if text is None:
        return enum.DEFAULT
    member = text.split(".")[-1]
    if "." in text and text.split(".")[0] != enum.__name__:
        return None
    try:
        return enum[member]
    except KeyError:
        return None


def cached_weights_path(weights) -> Path:
    return hub_checkpoint_dir() / Path(weights.url).name


def pipeline_from_weights(weights) -> ImagePipeline:
    transform = weights.transforms()
    crop = list(getattr(transform, "crop_size", [224]))
    resize = list(getattr(transform, "resize_size", [256]))
    interpolation = _PIL_INTERPOLATION.get(getattr(transform, "interpolation", InterpolationMode.BILINEAR), 2)
    return ImagePipeline(
        channels=3, resize=("short", int(resize[0])), crop=(int(crop[0]), int(crop[-1])),
        mean=tuple(float(v) for v in transform.mean), std=tuple(float(v) for v in transform.std),
        interpolation=interpolation,
    )


def _num_classes(state: dict) -> int | None:
    """The output size from the classifier (``fc.weight``, else the last 2-D weight) in a state_dict."""
    if "fc.weight" in state and state["fc.weight"].dim() == 2:
        return int(state["fc.weight"].shape[0])
    weights2d = [v for k, v in state.items() if k.endswith("weight") and v.dim() == 2]
    return int(weights2d[-1].shape[0]) if weights2d else None


def build(arch: str, num_classes: int = 1000, *, transform_input: bool = DEFAULT_TRANSFORM_INPUT,
          aux_logits: bool = True) -> torch.nn.Module:
    """The network with weights=None; for Inception v3 / GoogLeNet with the given layout."""
    kwargs = {}
    if arch in _AUX_ARCHS:
        kwargs.update(init_weights=False,  # torchvision's scipy-based init is slow and irrelevant here
                      transform_input=bool(transform_input), aux_logits=bool(aux_logits))
    return torchvision.models.get_model(arch, weights=None, num_classes=num_classes, **kwargs)


def has_aux_weights(arch: str, state: dict) -> bool:
    """True when a state_dict holds the auxiliary classifier(s) of Inception v3 / GoogLeNet."""
    return any(k.split(".", 1)[0] in _AUX_ARCHS.get(arch, ()) for k in state)


def published_checkpoint(arch: str, sha256: str | None):
    """The torchvision weights enum entry whose published file has this SHA-256 (torchvision names its files
    ``<name>-<first hex digits of the SHA-256>.pth``), else ``None``."""
    if not sha256:
        return None
    for member in _weights_enum(arch):
        prefix = Path(member.url).stem.rsplit("-", 1)[-1]
        if len(prefix) >= 8 and sha256.startswith(prefix):
            return member
    return None


def fold_batch_norm(net: torch.nn.Module) -> torch.nn.Module:
    """Fold every eval-mode BatchNorm into the convolution before it (``torch.fx``): the same function with one
    elementwise pass fewer per layer in the forward and the backward (ResNet-50 forward + input gradient on a
    2-core CPU: 1.80 s instead of 2.03 s for 16 inputs; the gradients differ from the unfolded network's by less
    than the fp32 network differs from its own fp64 version). A network torch.fx cannot trace is returned as is."""
    if not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules()):
        return net
    try:
        from torch.fx.experimental.optimization import fuse

        folded = fuse(net.eval(), inplace=False)
    except Exception:  # noqa: BLE001 - tracing can fail in many ways on unusual models; folding is optional
        return net
    folded.eval().requires_grad_(False)
    return folded


def choose_memory_format(net: torch.nn.Module, input_shape: tuple[int, ...], device: torch.device,
                         rows: int = 8) -> torch.memory_format:
    """Convert ``net`` to the faster layout for a forward + input-gradient pass: channels-last on CPUs; on CUDA
    the faster of NCHW and NHWC measured on ``rows`` inputs (a few passes, once per model load)."""
    if device.type != "cuda":
        net.to(memory_format=torch.channels_last)
        return torch.channels_last
    x = torch.randn(rows, *input_shape, device=device)
    timings = {}
    for fmt in (torch.contiguous_format, torch.channels_last):
        net.to(memory_format=fmt)
        xb = x.contiguous(memory_format=fmt)
        for attempt in range(4):  # one warm-up (cuDNN autotuning), three timed
            if attempt == 1:
                torch.cuda.synchronize(device)
                start = time.perf_counter()
            with torch.enable_grad():
                inp = xb.detach().requires_grad_(True)
                out = net(inp)
                out = out.logits if hasattr(out, "logits") else out
                torch.autograd.grad(out[:, 0].sum(), inp)
        torch.cuda.synchronize(device)
        timings[fmt] = time.perf_counter() - start
    best = min(timings, key=timings.get)
    net.to(memory_format=best)
    return best


def _drop_aux(arch: str, net: torch.nn.Module) -> None:
    for name in _AUX_ARCHS.get(arch, ()):
        setattr(net, name, None)
    if hasattr(net, "aux_logits"):
        net.aux_logits = False


def load_torchvision(arch: str, weights: str | None, device: torch.device,
                     transform_input: bool | None = None) -> LoadedModel:
    """``transform_input``: Inception v3 / GoogLeNet only; ``None`` takes :data:`DEFAULT_TRANSFORM_INPUT` (the
    published weights always say on). ``aux_logits`` follows the state_dict (aux weights present or not)."""
    if not is_architecture(arch):
        raise ModelLoadError(f"unknown model {arch!r}: use default, mnist-noise, a torchvision architecture "
                             f"(e.g. resnet50, inception_v3) or a TorchScript/torch.export file")
    if transform_input is not None and arch not in _AUX_ARCHS:
        raise ModelLoadError(f"--transform-input applies to {' and '.join(LAYOUT_ARCHS)} only, not {arch}")
    meta_weights = resolve_weights_enum(arch, weights)
    notes: list[str] = []
    layout: dict = {}
    if weights == "random":
        meta_weights = _weights_enum(arch).DEFAULT
        transform = DEFAULT_TRANSFORM_INPUT if transform_input is None else transform_input
        net = build(arch, transform_input=transform)
        path, sha = None, None
        name = f"{arch} (random weights)"
        notes.append("random weights (not trained)")
        num_classes = 1000
        if arch in _AUX_ARCHS:
            layout = {"transform_input": transform, "aux_logits": True,
                      "transform_input_source": "default" if transform_input is None else "option"}
    else:
        if meta_weights is not None:
            path = cached_weights_path(meta_weights)
            if not path.is_file():
                raise ModelLoadError(
                    f"weights for {arch} not found: looked for {printable(path)} — copy {path.name} there "
                    f"(the torch hub cache) or pass --weights FILE with a state_dict; nothing is downloaded"
                )
            name = f"{arch} ({meta_weights})"
        else:
            path = resolve_path(weights)
            meta_weights = _weights_enum(arch).DEFAULT
            name = f"{arch} ({display_name(path)})"
        state = load_state_dict_file(path)
        sha = sha256_file(path)
        num_classes = _num_classes(state) or 1000
        if arch in _AUX_ARCHS:
            aux = has_aux_weights(arch, state)
            published = published_checkpoint(arch, sha)
            if transform_input is not None:
                transform, source = transform_input, "option"
                if published is not None and not transform_input:
                    notes.append(f"transform_input off although {published} was trained with it on")
            elif published is not None:
                transform, source = True, f"published weights {published}"
            else:
                transform, source = DEFAULT_TRANSFORM_INPUT, "default"
            net = build(arch, num_classes, transform_input=transform, aux_logits=aux)
            layout = {"transform_input": transform, "aux_logits": aux, "transform_input_source": source}
            if source == "default":
                notes.append(f"transform_input {'on' if transform else 'off'} assumed (the weights cannot show it; "
                             f"--transform-input {'off' if transform else 'on'} for the other layout)")
        else:
            net = build(arch, num_classes)
        apply_state_dict(net, state, display_name(path))
    _drop_aux(arch, net)
    net.eval().requires_grad_(False)
    net = fold_batch_norm(net).to(device)
    # The smoothing engine sees the layout of the weights and feeds its batches the same way. Channels-last
    # (NHWC) is faster on CPUs (oneDNN: ResNet-50 0.90x of NCHW here); on GPUs it depends on the network and
    # precision (H200, fp32: ResNet-50 faster in NCHW, Inception v3 in NHWC), so CUDA times both once.
    pipeline = pipeline_from_weights(meta_weights)
    choose_memory_format(net, (3, *pipeline.crop), device)
    categories = list(meta_weights.meta.get("categories") or [])
    labels = categories if len(categories) == num_classes else [f"class {i}" for i in range(num_classes)]
    return LoadedModel(
        spec=arch, kind="torchvision", name=name, module=net, device=device, labels=labels, pipeline=pipeline,
        weights_path=path, weights_sha256=sha, notes=notes, layout=layout,
    )
