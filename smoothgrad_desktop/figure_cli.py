"""``smoothgrad-desktop figure``: one annotated figure (PNG, SVG or PDF) of one input, with its provenance and the
raw arrays it shows — the same figure the app's Export writes (both draw with :mod:`.core.figures`)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

KINDS = ("map", "grid", "strip", "difference", "noise-training")


def _numbers(kind, low, high):
    def parse(text: str):
        try:
            values = [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
        if not values or len(values) > 12 or any(not low <= v <= high for v in values):
            raise argparse.ArgumentTypeError(f"expected 1 to 12 values from {low:g} to {high:g}, got {text!r}")
        return values
    return parse


def add_parser(sub) -> None:
    from .cli_common import add_model_options, add_write_options, percentile_arg
    from .core import visualize as vz
    from .core.experiments import DIFFERENCE_NORMALISATIONS, GRID_LEVELS, GRID_SAMPLES
    from .core.schema import MAX_NOISE_LEVEL, MAX_SAMPLES

    f = sub.add_parser(
        "figure", help="one annotated figure (PNG, SVG or PDF) of one input, plus STEM.json and STEM.npy",
        description="Compute what --kind needs for INPUT and write an annotated figure (image and maps, colour "
                    "bars with ticks, titles with method, noise, n and class) to --out, with STEM.json "
                    "(provenance) and STEM.npy (the raw arrays shown) beside it.")
    f.add_argument("input", metavar="INPUT")
    f.add_argument("--kind", required=True, choices=KINDS)
    f.add_argument("--out", required=True, metavar="FILE", help="FILE.png, FILE.svg or FILE.pdf")
    add_model_options(f)
    f.add_argument("--classes", metavar="C1,C2", help="difference: the two classes (indices or names; default: the "
                                                      "two top-scoring classes)")
    f.add_argument("--normalise", choices=DIFFERENCE_NORMALISATIONS, default="percentile",
                   help="difference: divide each map by its own percentile before subtracting (default), or raw")
    f.add_argument("--levels", type=_numbers(float, 0.0, MAX_NOISE_LEVEL), default=list(GRID_LEVELS), metavar="L,..",
                   help="grid: noise levels as fractions (default 0,0.1,0.2,0.3,0.4,0.5)")
    f.add_argument("--ns", type=_numbers(int, 1, MAX_SAMPLES), default=list(GRID_SAMPLES), metavar="N,..",
                   help="grid: sample counts (default 1,5,10,25,50,100)")
    f.add_argument("--view", default="absolute", choices=list(vz.VIEWS))
    f.add_argument("--percentile", type=percentile_arg, default=99.0, metavar="P")
    f.add_argument("--clip-mode", default="percentile", choices=list(vz.CLIP_MODES))
    f.add_argument("--cmap", default=None, metavar="NAME", help="colour map for the maps (default per view)")
    f.add_argument("--multiply-by-input", action="store_true")
    f.add_argument("--shared-scale", action="store_true",
                   help="one colour scale for every map of the figure (default: each map its own, as in the paper)")
    add_write_options(f)


def cmd_figure(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .cli_common import EXIT_OK, EXIT_USAGE, err, say, config_from_args, model_from_args
    from .core import experiments as ex
    from .core import figures as fg
    from .core import visualize as vz
    from .core.errors import UserFacingError
    from .core.explain import explain, predict, prepare_input, resolve_target, top_k
    from .core.export import json_bytes, npy_bytes
    from .core.images import load_input
    from .core.models import load_model
    from .core.outputs import OutputPlanner
    from .core.paths import display_name

    t0 = time.perf_counter()
    if args.input == "" or args.out == "":
        err("INPUT and --out must not be empty strings (an unset variable?)")
        return EXIT_USAGE
    out = Path(args.out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in fg.FORMATS:
        err(f"--out must end in .png, .svg or .pdf, got {out.name!r}")
        return EXIT_USAGE
    if args.cmap is not None and args.cmap not in vz.COLORMAPS:
        err(f"unknown colour map {args.cmap!r}; choose one of {', '.join(vz.COLORMAPS)}")
        return EXIT_USAGE
    config = config_from_args(args)
    try:
        config.validate()
        model = model_from_args(args)
        if args.kind == "noise-training" and model.spec not in ("default", "mnist-noise"):
            raise UserFacingError("--kind noise-training needs the embedded MNIST model (--model default): only it "
                                  "ships with a twin trained with input noise")
    except UserFacingError as exc:
        err(str(exc))
        return EXIT_USAGE
    path = Path(args.input)
    name = display_name(path)
    planner = OutputPlanner(out.parent, overwrite=args.overwrite, protected=[path, model.weights_path])
    try:
        plan = planner.plan([out.name, out.with_suffix(".json").name, out.with_suffix(".npy").name], source=path)
        image = load_input(path)
        prepared = prepare_input(model, image)
        scores = predict(model, prepared.x, name=image.name)
        target = resolve_target(model, scores, args.target)
        top = top_k(model, scores, 5)
        prob = {p.index: p.probability for p in top}
        x = prepared.x.detach().float().cpu().numpy()
        visible = prepared.visible
        common = dict(view=args.view, percentile=args.percentile, clip_mode=args.clip_mode, cmap=args.cmap,
                      x=x, multiply_by_input=args.multiply_by_input)
        target_text = fg.class_text(model.label(target), target, prob.get(target))
        run = {"method": config.method, "aggregation": config.aggregation, "seed": config.seed}
        if args.kind == "map":
            expl = explain(model, image, config, target=target, prepared=prepared)
            spec = fg.map_figure(expl, view=args.view, percentile=args.percentile, clip_mode=args.clip_mode,
                                 cmap=args.cmap, multiply_by_input=args.multiply_by_input)
            record = expl.provenance()
        else:
            record = _base_record(model, image, prepared, scores, target, top, config)
            if args.kind == "grid":
                grid = ex.sigma_n_grid(model.module, prepared.x, target, levels=args.levels, ns=args.ns,
                                       config=config, baseline=prepared.baseline, guided_ok=model.guided_ok)
                spec = fg.grid_figure(grid, visible, method=config.method, target=target_text,
                                      model_name=model.name, seed=config.seed, shared=args.shared_scale, **common)
            elif args.kind == "strip":
                entries = ex.method_strip(model.module, prepared.x, target, config, baseline=prepared.baseline,
                                          guided_ok=model.guided_ok)
                r0 = next((r for _, r, _e in entries if r is not None and r.n > 1), None)
                spec = fg.strip_figure(entries, visible, target=target_text, model_name=model.name,
                                       noise_level=r0.noise_level if r0 else config.noise_level,
                                       sigma=r0.sigma if r0 else 0.0, n=config.n_samples, seed=config.seed,
                                       shared=args.shared_scale, **common)
            elif args.kind == "difference":
                c1, c2 = _classes(args.classes, model, scores)
                _, r1, r2 = ex.class_difference(model.module, prepared.x, c1, c2, config,
                                                baseline=prepared.baseline, guided_ok=model.guided_ok)
                diff = ex.difference_map(r1.attribution, r2.attribution, args.view, normalise=args.normalise,
                                         percentile=args.percentile, input=x,
                                         multiply_by_input=args.multiply_by_input)
                spec = fg.difference_figure(
                    diff, visible, labels=(fg.class_text(model.label(c1), c1), fg.class_text(model.label(c2), c2)),
                    method=config.method, aggregation=config.aggregation, model_name=model.name,
                    noise_level=r1.noise_level, sigma=r1.sigma, n=r1.n, seed=config.seed,
                    percentile=args.percentile,
                    cmap_absolute=args.cmap if args.view == "absolute" else None,
                    cmap_signed=args.cmap if args.view == "signed" else None)
                record["classes"] = [{"index": c, "label": model.label(c)} for c in (c1, c2)]
            else:
                twin = load_model("mnist-noise" if model.spec == "default" else "default", None, model.device)
                clean, noisy = (model, twin) if model.spec == "default" else (twin, model)
                results = ex.noise_training_grid(clean.module, noisy.module, prepared.x, target,
                                                 replace(config, method="gradient"))
                r = results[("clean", "smoothgrad")]
                spec = fg.noise_training_figure(results, visible, target=target_text, noise_level=r.noise_level,
                                                sigma=r.sigma, n=r.n, seed=config.seed, shared=args.shared_scale,
                                                **common)
            record.update(run)
        record["figure"] = {"kind": args.kind, "format": fmt, "scale": spec.scale, "array_axes": spec.array_axes,
                            "array_shape": list(spec.array.shape), "view": args.view, "percentile": args.percentile,
                            "clip_mode": args.clip_mode, "cmap": args.cmap or vz.default_cmap(args.view),
                            "multiply_by_input": args.multiply_by_input, **spec.meta}
        record["seconds"] = round(time.perf_counter() - t0, 4)
        planner.write(plan, {out.name: fg.render(spec, fmt), out.with_suffix(".json").name: json_bytes(record),
                             out.with_suffix(".npy").name: npy_bytes(spec.array.astype("float32"))})
    except UserFacingError as exc:
        message = str(exc)
        err(message if message.startswith(name) else f"{name}: {message}")
        return 1
    if not args.quiet:
        say(f"{name}: {args.kind} figure -> {out} (+ .json, .npy), {time.perf_counter() - t0:.2f} s")
    return EXIT_OK


def _classes(text: str | None, model, scores) -> tuple[int, int]:
    import numpy as np

    from .core.errors import AttributionError
    from .core.explain import resolve_target

    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    if not text:
        return order[0], order[1] if len(order) > 1 else order[0]
    parts = [p for p in text.split(",")]
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise AttributionError(f"--classes needs two classes separated by a comma, got {text!r}")
    c1, c2 = (resolve_target(model, scores, p.strip()) for p in parts)
    if c1 == c2:
        raise AttributionError(f"--classes names the same class twice ({c1})")
    return c1, c2


def _base_record(model, image, prepared, scores, target, top, config) -> dict:
    from .core.explain import input_record, model_record, versions

    return {
        "input": input_record(image, prepared), "model": model_record(model, prepared),
        "target": {"index": target, "label": model.label(target), "logit": float(scores[target])},
        "top5": [p.__dict__ for p in top],
        "noise_level": config.noise_level, "n": config.n_samples,
        "steps": config.steps if config.method == "integrated-gradients" else None,
        "versions": versions(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
