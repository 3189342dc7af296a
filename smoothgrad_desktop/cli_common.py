"""What every command of the command line shares: the program name and exit codes, the argument types and the
model options, one-line printing, and the run plumbing of the writing commands (validate, load the model, plan the
outputs, then each input all-or-nothing).

``cli`` (compute, models, self-test, dispatch), ``evaluate_cli`` (evaluate, report) and ``figure_cli`` import from
here and never from each other, so that the command modules form no import cycle.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

PROG = "smoothgrad-desktop"
EXIT_OK, EXIT_INPUT_FAILED, EXIT_USAGE = 0, 1, 2


def nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def percentile_arg(text: str) -> float:
    value = nonnegative_float(text)
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"percentile must be in (0, 100], got {text}")
    return value


def add_model_options(c: argparse.ArgumentParser) -> None:
    from .core import schema

    c.add_argument("--model", default="default", metavar="SPEC",
                   help="default (embedded MNIST CNN), mnist-noise, a torchvision architecture name, timm:NAME "
                        "(e.g. timm:convnext_tiny), hf:ORG/NAME (in the local Hugging Face cache), a folder with a "
                        "transformers or timm model, or a TorchScript/torch.export file; see the 'models' command")
    c.add_argument("--weights", metavar="PATH",
                   help="for a torchvision architecture or timm:NAME: a .safetensors file or state_dict, 'random', "
                        "or (torchvision) a weights enum name found in the local torch hub cache (e.g. "
                        "IMAGENET1K_V1); without it, the pretrained weights in the local cache")
    c.add_argument("--transform-input", choices=["on", "off"], default=None,
                   help="inception_v3 and googlenet only: torchvision's input transform (default on: its "
                        "pretrained weights and networks fine-tuned from them need it; off for a network trained "
                        "from scratch with torchvision's defaults). The auxiliary heads follow the weights file.")
    schema.add_arguments(c)
    c.add_argument("--target", default="predicted", metavar="T", help="'predicted', a class index or a class name")
    c.add_argument("--device", default="auto", metavar="D", help="auto (CUDA > MPS > CPU), cpu, cuda, cuda:N or mps")


def add_batch_arguments(c: argparse.ArgumentParser) -> None:
    """INPUT..., ``--out DIR`` and the model options of a command that writes files per input."""
    c.add_argument("inputs", nargs="+", metavar="INPUT")
    c.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    add_model_options(c)


def add_write_options(c: argparse.ArgumentParser, quiet_help: str = "print nothing on success") -> None:
    """``--overwrite`` and ``--quiet``, the same for every writing command."""
    c.add_argument("--overwrite", action="store_true", help="replace existing output files (default: refuse)")
    c.add_argument("--quiet", "-q", action="store_true", help=quiet_help)


def config_from_args(args: argparse.Namespace):
    from .core.schema import FIELDS
    from .core.smoothing import SmoothingConfig

    return SmoothingConfig(**{f.name: getattr(args, f.name) for f in FIELDS})


def expand_inputs(inputs: Sequence[str]) -> list[Path]:
    """The input files of a call: each INPUT as given, a folder replaced by its supported files (sorted)."""
    from .core.images import is_supported

    paths: list[Path] = []
    for text in inputs:
        p = Path(text)
        if p.is_dir() and not is_supported(p):
            try:
                paths.extend(sorted(q for q in p.iterdir() if q.is_file() and is_supported(q)))
            except OSError as exc:
                paths.append(p)  # reported as that input's error when it is read
                del exc
        else:
            paths.append(p)
    return paths


def say(message: str, stream=None) -> None:
    """Print one line; any file name in it is shown printable (:func:`core.paths.printable`): a crafted name
    cannot move the cursor, clear the line or fake another message."""
    from .core.paths import printable

    print(printable(" ".join(str(message).splitlines())), file=stream or sys.stdout)


def err(message: str) -> None:
    say(f"{PROG}: {message}", sys.stderr)


def check_paths(args: argparse.Namespace) -> int | None:
    """An empty INPUT or ``--out`` (an unset shell variable) is a usage error, not "the current folder"."""
    for text in getattr(args, "inputs", []) or []:
        if text == "":
            err("an INPUT is an empty string (an unset variable?); name files or folders explicitly, "
                 "e.g. '.' for the current folder")
            return EXIT_USAGE
    if getattr(args, "out", None) == "":
        err("--out is an empty string; name the output folder explicitly, e.g. '.'")
        return EXIT_USAGE
    return None


@dataclass
class Prepared:
    """What every writing command needs before its first input: the validated configuration, the loaded model,
    the output folder, the input files and the output planner (which protects every input and model file)."""

    config: object
    model: object
    out: Path
    inputs: list[Path]
    planner: object


def model_from_args(args: argparse.Namespace):
    """The model the shared model options name (``--model``, ``--weights``, ``--device``, ``--transform-input``);
    raises :class:`core.errors.UserFacingError` with one line."""
    from .core.models import load_model

    transform = getattr(args, "transform_input", None)
    return load_model(args.model, args.weights, args.device,
                      transform_input=None if transform is None else transform == "on")


def prepare_run(args: argparse.Namespace):
    """Validate the shared options, load the model, create the output folder and plan the outputs:
    a :class:`Prepared`, or an exit code after printing one line."""
    from .core.errors import UserFacingError
    from .core.models.catalog import remember
    from .core.outputs import OutputPlanner

    bad = check_paths(args)
    if bad is not None:
        return bad
    config = config_from_args(args)
    try:
        config.validate()
        model = model_from_args(args)
        refusal = model.guided_refusal() if config.method == "guided-backprop" else None
        if refusal:
            raise UserFacingError(refusal)
    except UserFacingError as exc:
        err(str(exc))
        return EXIT_USAGE
    remember(args.model, args.weights)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        err(f"cannot create output folder {out}: {exc.strerror or exc}")
        return EXIT_USAGE
    inputs = expand_inputs(args.inputs)
    planner = OutputPlanner(out, overwrite=args.overwrite,
                            protected=[*inputs, getattr(model, "weights_path", None)])
    return Prepared(config, model, out, inputs, planner)


def run_inputs(args: argparse.Namespace, prepared: "Prepared", suffixes, work, on_written=None) -> int:
    """For every input: plan its output files (``STEM + suffix``, see :mod:`core.outputs`), call
    ``work(path) -> ({suffix: bytes}, summary)`` and write the files all-or-nothing.

    ``suffixes`` is a sequence, or a function of the input path giving one. A failing input gets one line on
    stderr and no files; the others go on; exit 1 if any failed. ``on_written(path)`` runs after an input's
    files are in place."""
    from .core.errors import UserFacingError
    from .core.paths import display_name

    failures = 0
    planner = prepared.planner
    for path in prepared.inputs:
        t0 = time.perf_counter()
        name = display_name(path)
        plan = None
        try:
            wanted = suffixes(path) if callable(suffixes) else suffixes
            plan = planner.plan_stem(path, wanted)
            files, summary = work(path)
            planner.write(plan, {plan.stem + suffix: data for suffix, data in files.items()})
        except UserFacingError as exc:
            failures += 1
            if plan is not None:
                planner.release(plan)
            message = str(exc)
            err(message if message.startswith(name) else f"{name}: {message}")
            continue
        except Exception as exc:  # noqa: BLE001 - a crash in one input must not kill the batch
            failures += 1
            if plan is not None:
                planner.release(plan)
            first = str(exc).splitlines()[0] if str(exc) else ""
            err(f"{name}: unexpected error ({type(exc).__name__}: {first})")
            continue
        if on_written is not None:
            on_written(path)
        if not args.quiet:
            say(f"{name}: {summary}, {time.perf_counter() - t0:.2f} s")
    return EXIT_INPUT_FAILED if failures else EXIT_OK
