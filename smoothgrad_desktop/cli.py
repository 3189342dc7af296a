"""The headless command line: ``smoothgrad-desktop compute INPUT... --out DIR`` and friends.

The contract of ``compute`` is stable (scripts depend on it). For each input ``STEM.ext`` it writes
``DIR/STEM.npy`` (raw attribution, float32, ``(C, H, W)``, model-input space), ``DIR/STEM.png`` (the view) and
``DIR/STEM.json`` (provenance), all three or none. A bad input gets one line on stderr and no files; the
others are still processed; the exit code is 0 only when every input succeeded.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

PROG = "smoothgrad-desktop"
EXIT_OK, EXIT_INPUT_FAILED, EXIT_USAGE = 0, 1, 2


def _float01(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _percentile(text: str) -> float:
    value = _float01(text)
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"percentile must be in (0, 100], got {text}")
    return value


def _add_model_options(c: argparse.ArgumentParser) -> None:
    from .core import schema

    c.add_argument("--model", default="default", metavar="SPEC",
                   help="default (embedded MNIST CNN), mnist-noise, a torchvision architecture name, "
                        "or a TorchScript/torch.export file")
    c.add_argument("--weights", metavar="PATH",
                   help="state_dict for a torchvision architecture, a weights enum name found in the local "
                        "torch hub cache (e.g. IMAGENET1K_V1), or 'random'")
    schema.add_arguments(c)
    c.add_argument("--target", default="predicted", metavar="T", help="'predicted', a class index or a class name")
    c.add_argument("--device", default="auto", metavar="D", help="auto (CUDA > MPS > CPU), cpu, cuda, cuda:N or mps")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(prog=PROG, description="SmoothGrad sensitivity maps, offline. "
                                     "Run without a command to open the desktop app.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("compute", help="compute attribution maps for images and write .npy/.png/.json per input",
                       description="Compute an attribution map for each INPUT (image files, .npy model inputs or "
                                   "folders of them) and write STEM.npy, STEM.png and STEM.json into --out.")
    c.add_argument("inputs", nargs="+", metavar="INPUT")
    c.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    _add_model_options(c)
    c.add_argument("--view", default="absolute", choices=["absolute", "signed"])
    c.add_argument("--percentile", type=_percentile, default=99.0, metavar="P", help="capping percentile (default 99)")
    c.add_argument("--multiply-by-input", action="store_true", help="multiply the map by the input before display")
    c.add_argument("--cmap", default=None, metavar="NAME", help="colour map for the PNG (default per view)")
    c.add_argument("--overwrite", action="store_true", help="replace existing output files (default: refuse)")
    c.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")

    e = sub.add_parser("evaluate", help="deletion/insertion curves and sanity checks per input (JSON + PNG plots)",
                       description="For each INPUT: deletion and insertion curves of the map (and of a random pixel "
                                   "order) with their AUCs, the cascading parameter-randomisation sanity check and "
                                   "the random-target test; writes STEM.evaluation.json and PNG plots into --out.")
    e.add_argument("inputs", nargs="+", metavar="INPUT")
    e.add_argument("--out", required=True, metavar="DIR")
    _add_model_options(e)
    e.add_argument("--curve-steps", type=_positive, default=50, metavar="K",
                   help="points on the deletion/insertion curves (default 50)")
    e.add_argument("--sanity-layers", type=int, default=None, metavar="L",
                   help="randomise only the top L layers (default: all)")
    e.add_argument("--no-sanity", action="store_true", help="skip the randomisation sanity checks")
    e.add_argument("--overwrite", action="store_true")
    e.add_argument("--quiet", "-q", action="store_true")

    r = sub.add_parser("report", help="a self-contained index.html with top-5, maps and provenance per input",
                       description="Compute the map of each INPUT and write one self-contained HTML page "
                                   "(images embedded) with the top-5 classes, the heatmap, the overlay and the "
                                   "provenance of every input, plus the raw .npy maps.")
    r.add_argument("inputs", nargs="+", metavar="INPUT")
    r.add_argument("--out", required=True, metavar="DIR")
    _add_model_options(r)
    r.add_argument("--view", default="absolute", choices=["absolute", "signed"])
    r.add_argument("--percentile", type=_percentile, default=99.0, metavar="P")
    r.add_argument("--title", default="SmoothGrad Desktop report")
    r.add_argument("--overwrite", action="store_true")
    r.add_argument("--quiet", "-q", action="store_true")

    from .figure_cli import add_parser as add_figure_parser

    add_figure_parser(sub)

    m = sub.add_parser("models", help="list the models this installation can load offline")
    m.add_argument("--all", action="store_true", help="list every torchvision architecture, not only cached ones")

    sub.add_parser("self-test", help="compute one SmoothGrad map on the embedded model and a shipped sample")
    g = sub.add_parser("gui", help="open the desktop app (the default without a command)")
    g.add_argument("files", nargs="*", help="images to open")
    return parser


def config_from_args(args: argparse.Namespace):
    from .core.schema import FIELDS
    from .core.smoothing import SmoothingConfig

    return SmoothingConfig(**{f.name: getattr(args, f.name) for f in FIELDS})


def _expand_inputs(inputs: Sequence[str]) -> list[Path]:
    from .core.images import is_supported

    paths: list[Path] = []
    for text in inputs:
        p = Path(text)
        if p.is_dir() and not is_supported(p):
            paths.extend(sorted(q for q in p.iterdir() if q.is_file() and is_supported(q)))
        else:
            paths.append(p)
    return paths


def _err(message: str) -> None:
    print(f"{PROG}: {message}".replace("\n", " "), file=sys.stderr)


def prepare_run(args: argparse.Namespace):
    """Validate the shared options, load the model and create the output folder: ``(config, model, out)``, or
    an exit code after printing one line."""
    from .core.errors import UserFacingError
    from .core.models import load_model

    config = config_from_args(args)
    try:
        config.validate()
        model = load_model(args.model, args.weights, args.device)
    except UserFacingError as exc:
        _err(str(exc))
        return EXIT_USAGE
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _err(f"cannot create output folder {out}: {exc.strerror or exc}")
        return EXIT_USAGE
    return config, model, out


def run_inputs(args: argparse.Namespace, work) -> int:
    """Call ``work(path) -> (files, summary)`` for every input; write each input's files all-or-nothing.

    A failing input gets one line on stderr and no files; the others go on; exit 1 if any failed."""
    from .core.errors import UserFacingError
    from .core.export import write_group

    failures = 0
    stems: set[str] = set()
    for path in _expand_inputs(args.inputs):
        t0 = time.perf_counter()
        try:
            if path.stem in stems:
                raise UserFacingError(f"another input already wrote {path.stem}.* in this call")
            files, summary = work(path)
            write_group(files, overwrite=args.overwrite)
            stems.add(path.stem)
        except UserFacingError as exc:
            failures += 1
            message = str(exc)
            _err(message if path.name in message else f"{path.name}: {message}")
            continue
        except Exception as exc:  # noqa: BLE001 - a crash in one input must not kill the batch
            failures += 1
            first = str(exc).splitlines()[0] if str(exc) else ""
            _err(f"{path.name}: unexpected error ({type(exc).__name__}: {first})")
            continue
        if not args.quiet:
            print(f"{path.name}: {summary}, {time.perf_counter() - t0:.2f} s")
    return EXIT_INPUT_FAILED if failures else EXIT_OK


def cmd_compute(args: argparse.Namespace) -> int:
    from .core import visualize as vz
    from .core.explain import explain
    from .core.export import json_bytes, npy_bytes, png_bytes
    from .core.images import load_input
    from .core.views import heatmap_rgba

    if args.cmap is not None and args.cmap not in vz.COLORMAPS:
        _err(f"unknown colour map {args.cmap!r}; choose one of {', '.join(vz.COLORMAPS)}")
        return EXIT_USAGE
    prepared = prepare_run(args)
    if isinstance(prepared, int):
        return prepared
    config, model, out = prepared

    def work(path: Path):
        t0 = time.perf_counter()
        image = load_input(path)
        expl = explain(model, image, config, target=args.target)
        rgba, span = heatmap_rgba(expl, args.view, percentile=args.percentile, cmap=args.cmap,
                                  multiply_by_input=args.multiply_by_input)
        record = expl.provenance(view={"view": args.view, "percentile": args.percentile, "span": span,
                                       "cmap": args.cmap or vz.default_cmap(args.view),
                                       "multiply_by_input": args.multiply_by_input})
        record["seconds"] = round(time.perf_counter() - t0, 4)
        files = {
            out / f"{path.stem}.npy": npy_bytes(expl.result.attribution.astype("float32")),
            out / f"{path.stem}.png": png_bytes(rgba, text={"smoothgrad-desktop": f"{config.method}/{config.aggregation}"}),
            out / f"{path.stem}.json": json_bytes(record),
        }
        top = expl.top[0]
        summary = (f"target {expl.target} ({expl.target_label}), top-1 {top.label} p={top.probability:.3f}, "
                   f"{config.method}/{config.aggregation} n={expl.result.n} sigma={expl.result.sigma:.4g} "
                   f"-> {out / path.stem}.*")
        if image.notes:  # e.g. "animated image: first of 12 frames used"
            summary += " (" + "; ".join(image.notes) + ")"
        return files, summary

    return run_inputs(args, work)


def cmd_models(args: argparse.Namespace) -> int:
    from .core.models import EMBEDDED_SPECS
    from .core.models.embedded import EMBEDDED, embedded_metrics
    from .core.models.torchvision_models import architectures, cached_weights_path, hub_checkpoint_dir, resolve_weights_enum

    print("Embedded:")
    for spec in EMBEDDED_SPECS:
        metrics = embedded_metrics(spec)
        acc = metrics.get("held_out_accuracy")
        print(f"  {spec:14s} {EMBEDDED[spec][1]}" + (f", held-out accuracy {acc:.1%}" if acc else ""))
    print(f"torchvision (weights looked for in {hub_checkpoint_dir()}):")
    for arch in architectures():
        weights = resolve_weights_enum(arch, None)
        cached = weights is not None and cached_weights_path(weights).is_file()
        if cached or args.all:
            print(f"  {arch:22s} {'cached: ' + str(weights) if cached else 'needs --weights FILE'}")
    print("Files: any TorchScript (.pt/.ts) or torch.export (.pt2) model path.")
    return EXIT_OK


def cmd_self_test(_args: argparse.Namespace) -> int:
    import numpy as np

    from .core.errors import UserFacingError
    from .core.explain import explain
    from .core.images import load_input
    from .core.models import load_model
    from .core.resources import default_sample
    from .core.smoothing import SmoothingConfig

    t0 = time.perf_counter()
    try:
        sample = default_sample()
        if sample is None:
            raise UserFacingError("no shipped sample image found: the installation is incomplete")
        model = load_model("default", device="cpu")
        expl = explain(model, load_input(sample), SmoothingConfig(seed=0))
    except UserFacingError as exc:
        _err(f"self-test failed: {exc}")
        return EXIT_INPUT_FAILED
    attr = expl.result.attribution
    ok = bool(np.all(np.isfinite(attr)) and np.abs(attr).max() > 0 and attr.std() > 0)
    status = "ok" if ok else "FAILED (map is trivial)"
    print(f"self-test {status}: {sample.name} -> {expl.target_label} (p={expl.top[0].probability:.3f}), "
          f"SmoothGrad n={expl.result.n}, max|map|={np.abs(attr).max():.4g}, {time.perf_counter() - t0:.2f} s")
    return EXIT_OK if ok else EXIT_INPUT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .evaluate_cli import cmd_evaluate, cmd_report
    from .figure_cli import cmd_figure

    handlers = {"compute": cmd_compute, "evaluate": cmd_evaluate, "report": cmd_report, "figure": cmd_figure,
                "models": cmd_models, "self-test": cmd_self_test}
    handler = handlers.get(args.command)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args)
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
