"""``smoothgrad-desktop evaluate`` and ``report``: trust measurements and self-contained HTML reports, headless."""

from __future__ import annotations

import argparse
import base64
import html
import json
import time
from pathlib import Path

import numpy as np

from .cli_common import EXIT_INPUT_FAILED, EXIT_USAGE, err, say, prepare_run, run_inputs


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .core.explain import explain, versions
    from .core.export import json_bytes, png_bytes
    from .core.paths import display_name, name_record
    from .core.images import load_input
    from .core.methods import METHOD_LABELS
    from .core.plots import line_chart
    from .core.trust import cascading_randomization, perturbation_curves, random_target_test
    from .core.views import reduced

    prepared = prepare_run(args)
    if isinstance(prepared, int):
        return prepared
    config, model = prepared.config, prepared.model
    if not args.no_sanity and model.kind == "torchscript":
        say(f"{model.name}: TorchScript model: sanity checks skipped (its layers cannot be re-initialised)")
        args.no_sanity = True
    suffixes = (".evaluation.json", ".deletion.png", ".insertion.png", *(() if args.no_sanity else (".sanity.png",)))

    def work(path: Path):
        t0 = time.perf_counter()
        expl = explain(model, load_input(path), config, target=args.target)
        x, target = expl.prepared.x, expl.target
        saliency = reduced(expl, "absolute")
        curves = perturbation_curves(model.module, x, target, saliency, steps=args.curve_steps,
                                     baseline=expl.prepared.baseline, seed=config.seed)
        record = {
            "input": name_record(expl.image.name), "target": {"index": target, "label": expl.target_label},
            "model": {"spec": model.spec, "name": model.name, "weights_sha256": model.weights_sha256},
            "method": config.method, "aggregation": config.aggregation, "noise_level": expl.result.noise_level,
            "sigma": expl.result.sigma, "n": expl.result.n, "seed": config.seed,
            "perturbation": {"order": "pixels by absolute attribution (channels summed)",
                             "deletion_baseline": "the model's black-image baseline",
                             "insertion_start": "the input blurred (Gaussian)",
                             "score": "softmax probability of the target class; AUC by the trapezoid rule",
                             "curves": [c.as_dict() for c in curves.curves.values()], **curves.summary()},
            "versions": versions(),
        }
        label = METHOD_LABELS[config.method] + ("" if config.aggregation == "none" else f" + {config.aggregation}")
        charts = {}
        for kind in ("deletion", "insertion"):
            ours, rnd = curves.curves[(kind, "attribution")], curves.curves[(kind, "random")]
            charts[f".{kind}.png"] = line_chart(
                [(f"{label} (AUC {ours.auc:.3f})", ours.fractions, ours.probabilities),
                 (f"random order (AUC {rnd.auc:.3f})", rnd.fractions, rnd.probabilities)],
                title=f"{kind.capitalize()} curve: {display_name(path)}, class {expl.target_label}",
                xlabel=f"fraction of pixels {'removed' if kind == 'deletion' else 'revealed'}",
                ylabel="probability", ylim=(0.0, 1.0))
        if not args.no_sanity:
            sanity = cascading_randomization(model.module, x, target, config, baseline=expl.prepared.baseline,
                                             max_layers=args.sanity_layers, seed=config.seed)
            record["sanity"] = {"cascading_randomization": sanity.as_dict(),
                                "random_target": random_target_test(model.module, x, target, config,
                                                                    baseline=expl.prepared.baseline,
                                                                    seed=config.seed,
                                                                    classes=len(expl.scores))}
            steps = list(range(len(sanity.layers)))
            charts[".sanity.png"] = line_chart(
                [("Spearman |map|", steps, sanity.spearman_abs), ("Spearman signed", steps, sanity.spearman_signed)],
                title=f"Cascading randomisation (top layer first): {display_name(path)}",
                ylabel="rank correlation with the original map", ylim=(-1.0, 1.0), size=(720, 440),
                xticklabels=sanity.layers)
        record["seconds"] = round(time.perf_counter() - t0, 3)
        files = {".evaluation.json": json_bytes(record)}
        files.update({suffix: png_bytes(chart) for suffix, chart in charts.items()})
        summary = (f"deletion AUC {record['perturbation']['deletion_attribution_auc']:.3f} "
                   f"(random {record['perturbation']['deletion_random_auc']:.3f}), insertion AUC "
                   f"{record['perturbation']['insertion_attribution_auc']:.3f} "
                   f"(random {record['perturbation']['insertion_random_auc']:.3f})")
        if "sanity" in record:
            summary += f", fully randomised rho {record['sanity']['cascading_randomization']['spearman_abs'][-1]:.2f}"
        return files, summary

    return run_inputs(args, prepared, suffixes, work)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def cmd_report(args: argparse.Namespace) -> int:
    from .core import visualize as vz
    from .core.errors import UserFacingError
    from .core.explain import explain
    from .core.export import npy_bytes, png_bytes
    from .core.images import load_input
    from .core.paths import display_name
    from .core.views import heatmap_rgba, overlay_rgb

    prepared = prepare_run(args)
    if isinstance(prepared, int):
        return prepared
    config, model, planner = prepared.config, prepared.model, prepared.planner
    try:
        index_plan = planner.plan(["index.html"])
    except UserFacingError as exc:
        err(str(exc))
        return EXIT_USAGE
    sections: list[str] = []
    pending: dict[Path, str] = {}
    e = html.escape

    def work(path: Path):
        expl = explain(model, load_input(path), config, target=args.target)
        rgba, span = heatmap_rgba(expl, args.view, percentile=args.percentile)
        over = overlay_rgb(expl, args.view, percentile=args.percentile)
        original = expl.image.display_rgb()
        rows = "".join(f"<tr{' class=target' if p.index == expl.target else ''}><td>{p.index}</td><td>{e(p.label)}"
                       f"</td><td>{p.logit:.4g}</td><td>{p.probability:.2%}</td></tr>" for p in expl.top)
        record = expl.provenance(view={"view": args.view, "percentile": args.percentile, "span": span,
                                       "cmap": vz.default_cmap(args.view)})
        pending[path] = f"""<section><h2>{e(display_name(path))}</h2>
<p>Target <b>{e(expl.target_label)}</b> (class {expl.target}); {e(config.method)} / {e(config.aggregation)},
noise {expl.result.noise_level:.0%} (&sigma; = {expl.result.sigma:.4g}), n = {expl.result.n}, seed {config.seed}.</p>
<div class=row><figure><img src="{_data_uri(png_bytes(original))}"><figcaption>image</figcaption></figure>
<figure><img src="{_data_uri(png_bytes(rgba))}"><figcaption>{e(args.view)} map, capped at P{args.percentile:g}
</figcaption></figure><figure><img src="{_data_uri(png_bytes(over))}"><figcaption>overlay</figcaption></figure>
<table><tr><th>#</th><th>class</th><th>logit</th><th>probability</th></tr>{rows}</table></div>
<details><summary>Provenance</summary><pre>{e(json.dumps(record, indent=2, default=str))}</pre></details>
</section>"""
        files = {".npy": npy_bytes(expl.result.attribution.astype(np.float32))}
        return files, f"{expl.target_label} p={expl.top[0].probability:.3f}"

    def written(path: Path) -> None:  # the page lists only inputs whose files exist
        sections.append(pending.pop(path))

    code = run_inputs(args, prepared, (".npy",), work, on_written=written)
    if not sections:  # every input failed (one line each already): no page
        return EXIT_INPUT_FAILED if code != 0 or prepared.inputs else code
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(args.title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}} .row{{display:flex;gap:1em;flex-wrap:wrap;
align-items:flex-start}} figure{{margin:0}} img{{width:220px;image-rendering:pixelated;border:1px solid #ccc}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}
tr.target{{font-weight:bold;background:#eef}} section{{border-top:1px solid #999;margin-top:1.5em}}</style></head>
<body><h1>{e(args.title)}</h1><p>Model: {e(display_name(model.name))} ({e(model.kind)}); weights SHA-256
{e(model.weights_sha256 or "n/a")}. Generated {time.strftime("%Y-%m-%d %H:%M")}. Each map is computed in
model-input space; the heatmap is resized onto the image for display.</p>
{"".join(sections)}</body></html>"""
    try:
        planner.write(index_plan, {"index.html": page.encode("utf-8", errors="backslashreplace")})
    except UserFacingError as exc:
        err(str(exc))
        return EXIT_INPUT_FAILED
    return code
