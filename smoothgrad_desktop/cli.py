"""The headless command line: ``smoothgrad-desktop compute INPUT... --out DIR`` and friends.

The contract of ``compute`` is stable (scripts depend on it). For each input ``STEM.ext`` it writes
``DIR/STEM.npy`` (raw attribution, float32, ``(C, H, W)``, model-input space), ``DIR/STEM.png`` (the view) and
``DIR/STEM.json`` (provenance), all three or none. A bad input gets one line on stderr and no files; the
others are still processed.

Exit codes: 0 every input succeeded; 1 at least one input failed (one line each on stderr); 2 usage error
(bad option, empty INPUT or ``--out``, a model that cannot be loaded) before anything is written; 130 interrupted.

Every writing command plans its files with :class:`core.outputs.OutputPlanner` (never over an input, one stem per
input, ``--overwrite``), and every printed line goes through :func:`core.paths.printable`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Sequence

from .cli_common import (  # noqa: F401 - the exit codes stay importable from here
    EXIT_INPUT_FAILED, EXIT_OK, EXIT_USAGE, PROG, add_batch_arguments, add_write_options, err, percentile_arg,
    positive_int, prepare_run, run_inputs, say,
)


COMPUTE_WINDOW = 32


def _shard(text: str) -> tuple[int, int] | str:
    if text == "auto":
        return text
    k, sep, n = text.partition("/")
    try:
        shard = (int(k), int(n))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 2/8, or auto, got {text!r}") from None
    if not sep or not 1 <= shard[0] <= shard[1] <= 1_000_000:
        raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N, got {text!r}")
    return shard


class _Parser(argparse.ArgumentParser):
    """argparse, with every message it prints made printable: its errors quote the offending argument, which
    may be a crafted file name."""

    def _print_message(self, message: str, file=None) -> None:
        if message:
            from .core.paths import printable

            message = "\n".join(printable(line) for line in message.split("\n"))
        super()._print_message(message, file)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = _Parser(prog=PROG, description="SmoothGrad sensitivity maps, offline. "
                                     "Run without a command to open the desktop app.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("compute", help="compute attribution maps for images and write .npy/.png/.json per input",
                       description="Compute an attribution map for each INPUT (image files, .npy model inputs or "
                                   "folders of them) and write STEM.npy, STEM.png and STEM.json into --out.")
    add_batch_arguments(c)
    c.add_argument("--view", default="absolute", choices=["absolute", "signed"])
    c.add_argument("--percentile", type=percentile_arg, default=99.0, metavar="P", help="capping percentile (default 99)")
    c.add_argument("--multiply-by-input", action="store_true", help="multiply the map by the input before display")
    c.add_argument("--cmap", default=None, metavar="NAME", help="colour map for the PNG (default per view)")
    add_write_options(c, quiet_help="print nothing on success, and no progress (by default progress and ETA go to "
                                    "stderr: a bar on a terminal, a line every 10 s otherwise)")
    c.add_argument("--shard", type=_shard, default=None, metavar="K/N",
                   help="compute only share K of N (1 <= K <= N) of the inputs, chosen by output name, so N runs "
                        "(a job array, one process per GPU) together cover every input exactly once; 'auto': "
                        "K = RANK + 1 and N = WORLD_SIZE from the environment torchrun sets")
    c.add_argument("--group", type=positive_int, default=COMPUTE_WINDOW, metavar="G",
                   help=f"inputs loaded and computed together (default {COMPUTE_WINDOW}): the noisy samples of "
                        "same-shape inputs share forward/backward passes; the maps equal one-at-a-time maps")

    e = sub.add_parser("evaluate", help="deletion/insertion curves and sanity checks per input (JSON + PNG plots)",
                       description="For each INPUT: deletion and insertion curves of the map (and of a random pixel "
                                   "order) with their AUCs, the cascading parameter-randomisation sanity check and "
                                   "the random-target test; writes STEM.evaluation.json and PNG plots into --out.")
    add_batch_arguments(e)
    e.add_argument("--curve-steps", type=positive_int, default=50, metavar="K",
                   help="points on the deletion/insertion curves (default 50)")
    e.add_argument("--sanity-layers", type=int, default=None, metavar="L",
                   help="randomise only the top L layers (default: all)")
    e.add_argument("--no-sanity", action="store_true", help="skip the randomisation sanity checks")
    add_write_options(e)

    r = sub.add_parser("report", help="a self-contained index.html with top-5, maps and provenance per input",
                       description="Compute the map of each INPUT and write one self-contained HTML page "
                                   "(images embedded) with the top-5 classes, the heatmap, the overlay and the "
                                   "provenance of every input, plus the raw .npy maps.")
    add_batch_arguments(r)
    r.add_argument("--view", default="absolute", choices=["absolute", "signed"])
    r.add_argument("--percentile", type=percentile_arg, default=99.0, metavar="P")
    r.add_argument("--title", default="SmoothGrad Desktop report")
    add_write_options(r)

    from .figure_cli import add_parser as add_figure_parser

    add_figure_parser(sub)

    m = sub.add_parser("models", help="list the models this installation can load offline")
    m.add_argument("--all", action="store_true", help="list every torchvision architecture, not only cached ones")

    sub.add_parser("self-test", help="compute one SmoothGrad map on the embedded model and a shipped sample")
    g = sub.add_parser("gui", help="open the desktop app (the default without a command)")
    g.add_argument("files", nargs="*", help="images to open")
    return parser


def in_shard(path: Path, shard: tuple[int, int] | None) -> bool:
    """Whether ``path`` belongs to share ``K`` of ``N``: decided by its output stem (SHA-256 of the name, the same
    on every machine and in every order of arguments), so inputs that would claim the same output names always
    land in the same share and each share writes exactly the files a full run writes for its inputs."""
    if shard is None:
        return True
    import hashlib

    k, n = shard
    digest = hashlib.sha256(path.stem.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1


def shard_from_environment(environ=None) -> tuple[int, int] | None:
    """``(RANK + 1, WORLD_SIZE)`` from the environment torchrun (and other launchers) set, or ``None``."""
    import os

    environ = os.environ if environ is None else environ
    try:
        rank, world = int(environ["RANK"]), int(environ["WORLD_SIZE"])
    except (KeyError, ValueError):
        return None
    return (rank + 1, world) if 0 <= rank < world else None


def compute_run_key(path: Path, config, model, args: argparse.Namespace) -> str:
    """What makes a compute output the same again: the input file's content, the model and its weights, every
    compute parameter, the target and the view options. Recorded as ``run_key`` in ``STEM.json``; a re-run skips
    an input whose three files exist with the same key."""
    import dataclasses
    import hashlib
    import json

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    parts = {"format": 1, "input_sha256": digest.hexdigest(),
             "model": [str(model.spec), model.kind, model.weights_sha256, dict(model.layout or {}),
                       model.pipeline.describe() if getattr(model, "pipeline", None) is not None else None],
             "config": dataclasses.asdict(config), "target": str(args.target), "view": args.view,
             "percentile": args.percentile, "cmap": args.cmap, "multiply_by_input": args.multiply_by_input}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _already_done(out: Path, stem: str, key: str | None) -> bool:
    """The three outputs of ``stem`` exist (and, given ``key``, ``STEM.json`` records that run key)."""
    if not all((out / (stem + suffix)).is_file() for suffix in (".npy", ".png", ".json")):
        return False
    if key is None:
        return True
    return _recorded_key(out / f"{stem}.json") == key


def _recorded_key(record: Path) -> str | None:
    import json

    try:
        value = json.loads(record.read_text(encoding="utf-8")).get("run_key")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _remove_partial(out: Path, stem: str, suffixes, planner) -> None:
    """An input whose ``STEM.json`` records this very run key but whose other files are missing (a run stopped
    between the renames of its files): its remaining files are removed so it is computed again."""
    for suffix in suffixes:
        target = out / (stem + suffix)
        if target.is_file() and not target.is_symlink() and not planner.is_protected(target):
            target.unlink()


def cmd_compute(args: argparse.Namespace) -> int:
    from .core import visualize as vz
    from .core.errors import UserFacingError
    from .core.explain import explain_many
    from .core.export import json_bytes, npy_bytes, png_bytes
    from .core.images import load_input
    from .core.paths import display_name
    from .core.views import heatmap_rgba
    from .progress import ProgressReporter

    if args.cmap is not None and args.cmap not in vz.COLORMAPS:
        err(f"unknown colour map {args.cmap!r}; choose one of {', '.join(vz.COLORMAPS)}")
        return EXIT_USAGE
    if args.shard == "auto":
        args.shard = shard_from_environment()
        if args.shard is None:
            err("--shard auto needs RANK and WORLD_SIZE in the environment (as torchrun sets them); "
                 "give --shard K/N otherwise")
            return EXIT_USAGE
    prepared = prepare_run(args)
    if isinstance(prepared, int):
        return prepared
    config, model, out, planner = prepared.config, prepared.model, prepared.out, prepared.planner
    inputs = [p for p in prepared.inputs if in_shard(p, args.shard)]
    suffixes = (".npy", ".png", ".json")
    progress = ProgressReporter(len(inputs), enabled=not args.quiet)
    failures = 0

    def fail(name: str, exc: BaseException) -> None:
        nonlocal failures
        failures += 1
        progress.clear()
        if isinstance(exc, UserFacingError):
            message = str(exc)
            err(message if message.startswith(name) else f"{name}: {message}")
        else:
            first = str(exc).splitlines()[0] if str(exc) else ""
            err(f"{name}: unexpected error ({type(exc).__name__}: {first})")

    def report(line: str) -> None:
        if not args.quiet:
            progress.clear()
            say(line)

    def files_for(expl, key: str):
        rgba, span = heatmap_rgba(expl, args.view, percentile=args.percentile, cmap=args.cmap,
                                  multiply_by_input=args.multiply_by_input)
        record = expl.provenance(view={"view": args.view, "percentile": args.percentile, "span": span,
                                       "cmap": args.cmap or vz.default_cmap(args.view),
                                       "multiply_by_input": args.multiply_by_input}, run_key=key)
        return {
            ".npy": npy_bytes(expl.result.attribution.astype("float32")),
            ".png": png_bytes(rgba, text={"smoothgrad-desktop": f"{config.method}/{config.aggregation}"}),
            ".json": json_bytes(record),
        }

    last = [time.perf_counter()]
    for start in range(0, len(inputs), args.group):
        loaded = []  # (path, plan, image, run key), in input order
        for path in inputs[start:start + args.group]:
            name = display_name(path)
            plan = None
            try:
                if (out / f"{path.stem}.json").is_file():
                    try:
                        key = compute_run_key(path, config, model, args)
                    except OSError:
                        key = None  # unreadable: loading it below says why
                    if key and _already_done(out, path.stem, key):
                        report(f"{name}: skipped, {out / path.stem}.* exist with the same parameters")
                        progress.advance()
                        continue
                    if key and _recorded_key(out / f"{path.stem}.json") == key:
                        _remove_partial(out, path.stem, suffixes, planner)  # this run's own, interrupted: redo it
                plan = planner.plan_stem(path, suffixes)
                image = load_input(path)
                loaded.append((path, plan, image, compute_run_key(path, config, model, args)))
            except Exception as exc:  # noqa: BLE001 - one input's failure never stops the others
                if plan is not None:
                    planner.release(plan)
                fail(name, exc)
                progress.advance()

        def done(k: int, outcome, loaded=loaded) -> None:
            path, plan, image, key = loaded[k]
            name = display_name(path)
            try:
                if isinstance(outcome, BaseException):
                    raise outcome
                planner.write(plan, {plan.stem + suffix: data for suffix, data in files_for(outcome, key).items()})
            except Exception as exc:  # noqa: BLE001
                planner.release(plan)
                fail(name, exc)
            else:
                top = outcome.top[0]
                r = outcome.result
                summary = (f"target {outcome.target} ({outcome.target_label}), top-1 {top.label} "
                           f"p={top.probability:.3f}, {config.method}/{config.aggregation} n={r.n}"
                           + (f" (rel. error {r.relative_error:.3g}{'' if r.converged else ', cap reached'})"
                              if config.auto else "")
                           + f" sigma={r.sigma:.4g} -> {out / path.stem}.*")
                if image.notes:  # e.g. "animated image: first of 12 frames used"
                    summary += " (" + "; ".join(image.notes) + ")"
                now = time.perf_counter()
                report(f"{name}: {summary}, {now - last[0]:.2f} s")  # since the previous input was done
                last[0] = now
            progress.advance()

        explain_many(model, [item[2] for item in loaded], config, args.target, on_done=done)
    progress.finish()
    return EXIT_INPUT_FAILED if failures else EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from .core.models.catalog import catalog, where_looked
    from .core.models.embedded import embedded_metrics

    entries = catalog(all_torchvision=args.all)
    looked = where_looked()
    sections = [("embedded", "Embedded:"),
                ("torch hub cache", f"torchvision (weights in {looked['torch hub cache']}):"),
                ("Hugging Face cache", f"timm and transformers (in {looked['Hugging Face cache']}):"),
                ("recent", "Recently used:")]
    for origin, heading in sections:
        rows = [e for e in entries if e.origin == origin]
        say(heading)
        if not rows:
            say("  (none)")
        for e in rows:
            line = f"  --model {e.spec}" + (f" --weights {e.weights}" if e.weights else "")
            detail = e.title if e.origin != "embedded" else e.title + _accuracy(embedded_metrics(e.spec))
            line = f"{line:58s} {detail}"
            say(line + ("" if e.available else f"  [unavailable: {e.reason}]"))
    say("Also: timm:NAME with --weights FILE.safetensors or --weights random, a transformers/timm model folder, "
         "any TorchScript (.pt/.ts) or torch.export (.pt2) file.")
    return EXIT_OK


def _accuracy(metrics: dict) -> str:
    acc = metrics.get("held_out_accuracy")
    return f", held-out accuracy {acc:.1%}" if acc else ""


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
        err(f"self-test failed: {exc}")
        return EXIT_INPUT_FAILED
    attr = expl.result.attribution
    ok = bool(np.all(np.isfinite(attr)) and np.abs(attr).max() > 0 and attr.std() > 0)
    status = "ok" if ok else "FAILED (map is trivial)"
    say(f"self-test {status}: {sample.name} -> {expl.target_label} (p={expl.top[0].probability:.3f}), "
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
        err("interrupted")
        return 130
