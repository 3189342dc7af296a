"""From an image and a model to a map with provenance: the one entry point the CLI and the GUI share."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import torchvision

from .. import __version__
from .errors import AttributionError, Cancelled, UserFacingError
from .images import InputImage
from .methods import class_scores
from .models import LoadedModel
from .paths import display_name, name_record, resolve_path
from .schema import check_model_input
from .smoothing import (
    CancelCheck, BatchCallback, ProgressCallback, SmoothingConfig, SmoothingResult, smooth_attribution, smooth_many,
)


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    logit: float
    probability: float


@dataclass
class PreparedInput:
    """The model input for one image, with its IG baseline and the geometry back to the original image."""

    x: torch.Tensor  # (C, H, W) on the model's device
    baseline: torch.Tensor  # (C, H, W): the black image through the same preprocessing (zeros for raw input)
    visible: np.ndarray  # (H, W, 3) uint8: what the model sees, for display in model-input space
    box: tuple[float, float, float, float]  # region of the original image the input covers
    raw: bool


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:240]


def prepare_input(model: LoadedModel, image: InputImage) -> PreparedInput:
    name = display_name(image.name or "input")
    if image.raw is not None:
        check_model_input(name, *image.raw.shape[-3:])
        arr = np.ascontiguousarray(image.raw, dtype=np.float32)
        x = torch.from_numpy(arr)
        baseline = torch.zeros_like(x)
        visible = image.display_rgb()
        box = (0.0, 0.0, float(arr.shape[2]), float(arr.shape[1]))
        raw = True
    else:
        pipeline = model.pipeline
        pipeline.check_size(image.image.size, name)  # before any pixel is resized
        x = pipeline(image.image)
        from PIL import Image  # local: only needed for the baseline

        black = Image.new(image.image.mode, image.image.size, 0)
        baseline = pipeline(black)
        visible = np.asarray(pipeline.visible(image.image).convert("RGB"))
        box = pipeline.box(image.image.size)
        raw = False
    return PreparedInput(x.to(model.device), baseline.to(model.device), visible, box, raw)


def predict(model: LoadedModel, x: torch.Tensor, *, name: str = "input") -> np.ndarray:
    """Class scores (logits) for one input ``(C, H, W)``; a shape the model rejects becomes a one-line error."""
    try:
        with torch.no_grad():
            scores = class_scores(model, x.unsqueeze(0))
    except AttributionError:
        raise
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        raise AttributionError(
            f"{name}: input of shape {tuple(x.shape)} does not fit the model ({_first_line(exc)})"
        ) from exc
    scores = scores[0].detach().float().cpu().numpy()
    if not np.all(np.isfinite(scores)):
        raise AttributionError(f"{name}: the model returned NaN/Inf scores; no map can be computed")
    if model.labels and len(model.labels) != scores.shape[0]:
        model.labels = [f"class {i}" for i in range(scores.shape[0])]
    elif not model.labels:
        model.labels = [f"class {i}" for i in range(scores.shape[0])]
    return scores


def top_k(model: LoadedModel, scores: np.ndarray, k: int = 5) -> list[Prediction]:
    shifted = scores.astype(np.float64) - scores.max()
    probs = np.exp(shifted) / np.exp(shifted).sum()
    order = np.argsort(-scores, kind="stable")[:k]
    return [Prediction(int(i), model.label(int(i)), float(scores[i]), float(probs[i])) for i in order]


def resolve_target(model: LoadedModel, scores: np.ndarray, target: int | str | None) -> int:
    if target is None or (isinstance(target, str) and target.strip().lower() in ("", "predicted")):
        return int(np.argmax(scores))
    index = target if isinstance(target, int) else model.find_class(str(target))
    if not 0 <= index < scores.shape[0]:
        raise AttributionError(f"target class {index} is out of range: the model has {scores.shape[0]} classes")
    return int(index)


@dataclass
class Explanation:
    model: LoadedModel
    image: InputImage
    prepared: PreparedInput
    scores: np.ndarray
    target: int
    result: SmoothingResult
    seconds: float
    top: list[Prediction] = field(default_factory=list)

    @property
    def target_label(self) -> str:
        return self.model.label(self.target)

    def provenance(self, **extra) -> dict:
        return provenance(self, **extra)


def explain(
    model: LoadedModel,
    image: InputImage,
    config: SmoothingConfig = SmoothingConfig(),
    target: int | str | None = None,
    *,
    snapshots: Sequence[int] = (),
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    on_batch: BatchCallback | None = None,
    prepared: PreparedInput | None = None,
    scores: np.ndarray | None = None,
) -> Explanation:
    """``scores``: the class scores of ``prepared.x`` when the caller already has them (one forward per map)."""
    t0 = time.perf_counter()
    prepared = prepared or prepare_input(model, image)
    if scores is None:
        scores = predict(model, prepared.x, name=image.name)
    index = resolve_target(model, scores, target)
    result = smooth_attribution(
        model.module, prepared.x, index, config, baseline=prepared.baseline, guided_ok=model.guided_ok,
        snapshots=snapshots, progress=progress, cancel=cancel, on_batch=on_batch,
    )
    return Explanation(model, image, prepared, scores, index, result, time.perf_counter() - t0,
                       top_k(model, scores, 5))


def explain_many(
    model: LoadedModel,
    images: Sequence[InputImage],
    config: SmoothingConfig = SmoothingConfig(),
    target: int | str | None = None,
    *,
    on_done: Callable[[int, "Explanation | Exception"], None],
    cancel: CancelCheck | None = None,
) -> None:
    """:func:`explain` for several images at once: inputs of the same shape after preprocessing share their
    forward/backward passes (:func:`.smoothing.smooth_many`), each map being the one :func:`explain` gives alone.
    ``on_done(i, explanation)`` is called once per image as soon as it is finished, or ``on_done(i, error)`` with
    the exception of an image that failed (a one-line :class:`UserFacingError`, or an unexpected error of the
    model); the others go on. Results are not kept here,
    so memory stays bounded by one batch plus the images in flight."""
    ready: dict[tuple, list[tuple[int, PreparedInput, np.ndarray, int]]] = {}
    for i, image in enumerate(images):
        try:
            prepared = prepare_input(model, image)
            scores = predict(model, prepared.x, name=image.name)
            index = resolve_target(model, scores, target)
        except UserFacingError as exc:
            on_done(i, exc)
            continue
        ready.setdefault(tuple(prepared.x.shape), []).append((i, prepared, scores, index))
    for members in ready.values():
        finished: set[int] = set()
        t0 = time.perf_counter()

        def done(k: int, result, members=members, finished=finished, t0=t0) -> None:
            i, prepared, scores, index = members[k]
            finished.add(k)
            if isinstance(result, UserFacingError):
                on_done(i, result)
                return
            on_done(i, Explanation(model, images[i], prepared, scores, index, result, time.perf_counter() - t0,
                                   top_k(model, scores, 5)))

        try:
            smooth_many(model.module, [m[1].x for m in members], [m[3] for m in members], config,
                        baselines=[m[1].baseline for m in members], guided_ok=model.guided_ok, cancel=cancel,
                        on_done=done, return_errors=True)
        except Cancelled:
            raise
        except Exception:  # noqa: BLE001 - one input breaks the shared batch: go one at a time to find it
            for k, (i, prepared, scores, index) in enumerate(members):
                if k in finished:
                    continue
                try:
                    expl = explain(model, images[i], config, index, prepared=prepared, cancel=cancel)
                except Cancelled:
                    raise
                except Exception as exc:  # noqa: BLE001 - reported as that input's failure
                    on_done(i, exc)
                    continue
                on_done(i, expl)


def versions() -> dict:
    return {
        "app": __version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
        "numpy": np.__version__, "python": platform.python_version(),
    }


def input_record(image: InputImage, prepared: PreparedInput) -> dict:
    """The ``input`` block of a provenance record (names stored losslessly, see :func:`.paths.name_record`)."""
    return {"name": name_record(image.name),
            "path": name_record(resolve_path(image.path)) if image.path else None,
            "notes": list(image.notes), "shape": list(prepared.x.shape)}


def model_record(model: LoadedModel, prepared: PreparedInput) -> dict:
    """The ``model`` block of a provenance record."""
    return {"spec": name_record(model.spec), "kind": model.kind, "name": name_record(model.name),
            "weights": name_record(model.weights_path) if model.weights_path else None,
            "weights_sha256": model.weights_sha256, "preprocessing": model.pipeline.describe()
            if not prepared.raw else "none (raw .npy model input)", "notes": list(model.notes),
            "source": dict(model.source), **({"layout": dict(model.layout)} if model.layout else {})}


def provenance(expl: Explanation, **extra) -> dict:
    r, model, cfg = expl.result, expl.model, expl.result.config
    record = {
        "input": input_record(expl.image, expl.prepared),
        "model": model_record(model, expl.prepared),
        "target": {"index": expl.target, "label": expl.target_label, "logit": float(expl.scores[expl.target])},
        "top5": [p.__dict__ for p in expl.top],
        "method": cfg.method,
        "aggregation": cfg.aggregation,
        "noise_level": r.noise_level,
        "sigma": r.sigma,
        "n": r.n,
        "sampling": r.convergence_record(),
        "precision": r.precision,
        **({"fidelity": r.fidelity} if r.fidelity else {}),
        "steps": cfg.steps if cfg.method == "integrated-gradients" else None,
        "quadrature": cfg.quadrature if cfg.method == "integrated-gradients" else None,
        "seed": cfg.seed,
        "device": r.device,
        "batch_size": r.batch_size,
        "evaluations": r.evaluations,
        "attribution_shape": list(r.mean.shape),
        "versions": versions(),
        "seconds": round(expl.seconds, 4),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "run_key": None,  # set by the compute command (what a re-run compares to skip finished inputs)
    }
    record.update(extra)
    return record
