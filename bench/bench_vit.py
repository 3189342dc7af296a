"""SmoothGrad on a Vision Transformer, side by side in one process: ours vs Captum's NoiseTunnel.

    python bench/bench_vit.py [--model vit_base_patch16_224] [--n 50] [--reps 3] [--threads T] [--quick]
                              [--json PATH]

One random ViT-B/16 (timm ``vit_base_patch16_224``, random weights, CPU), saved once as ``.safetensors`` and used by
both sides, so that both explain the same network:

* ours   — the app's path: ``load_model("timm:vit_base_patch16_224", weights=FILE)`` (frozen parameters, the
           model prepared by the loader) and ``smooth_attribution`` with the engine's automatic batch size, n = 50,
           noise level 0.15;
* captum — ``NoiseTunnel(Saliency(model)).attribute(nt_type="smoothgrad", nt_samples=50, stdevs=sigma, abs=False)``
           on the timm model as its users hold it (``eval()``, parameters trainable), with Captum's default of all
           samples in one batch;
* captum-same-batch — the same with ``nt_samples_batch_size`` set to our batch size, reported for transparency.

The loader's one structural saving for this model is that the last transformer block runs for the class token only
(``core/models/vit_fast.py``); everything else is the same network running the same kernels as under Captum.

Each variant runs once to warm up, then ``--reps`` times interleaved; the table gives the wall-clock time and the
CPU time of this process (``time.process_time``), each as the median and the minimum over the repetitions, with
ours/captum ratios. On a machine shared with other jobs the CPU time is far steadier than the wall-clock time, and
the minimum is the run least disturbed by them. It also checks that ours and Captum produce the same map up
to the noise (Spearman correlation of the two maps). Timing thresholds live here, never in unit tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from smoothgrad_desktop.core.models import load_model  # noqa: E402
from smoothgrad_desktop.core.smoothing import SmoothingConfig, fidelity, noise_sigma, smooth_attribution  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="vit_base_patch16_224", help="timm architecture (random weights)")
    ap.add_argument("--n", type=int, default=50, help="noisy samples (default 50)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    ap.add_argument("--quick", action="store_true", help="smoke run: n = 8, one repetition")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "vit.json"))
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    n, reps = (8, 1) if args.quick else (args.n, args.reps)

    import timm
    from captum.attr import NoiseTunnel, Saliency
    from PIL import Image
    from safetensors.torch import save_file

    torch.manual_seed(0)
    as_users_hold_it = timm.create_model(args.model, pretrained=False).eval()  # parameters trainable
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "vit.safetensors"
        save_file(as_users_hold_it.state_dict(), str(weights))
        ours_model = load_model(f"timm:{args.model}", str(weights), device="cpu")
    g = torch.Generator().manual_seed(1)
    image = Image.fromarray((torch.rand(256, 320, 3, generator=g) * 255).to(torch.uint8).numpy())
    x = ours_model.pipeline(image)
    with torch.no_grad():
        target = int(as_users_hold_it(x[None])[0].argmax())
    sigma = noise_sigma(x, 0.15)
    cfg = SmoothingConfig(n_samples=n, noise_level=0.15, seed=0)
    probe = smooth_attribution(ours_model.module, x, target, SmoothingConfig(n_samples=1, seed=0))
    tunnel = NoiseTunnel(Saliency(as_users_hold_it))
    results = {}

    def ours():
        results["ours"] = smooth_attribution(ours_model.module, x, target, cfg)
        return results["ours"].batch_size

    batch = None

    def captum(batch_size=None):
        def run():
            results["captum"] = tunnel.attribute(x[None], nt_type="smoothgrad", nt_samples=n, stdevs=sigma,
                                                 target=target, abs=False, nt_samples_batch_size=batch_size)
        return run

    batch = ours()  # warm-up of ours, and its batch size
    variants = {"ours": ours, "captum": captum(None), "captum-same-batch": captum(batch)}
    for key, fn in variants.items():
        if key != "ours":
            fn()  # warm-up
    wall = {k: [] for k in variants}
    cpu = {k: [] for k in variants}
    for _ in range(reps):  # interleaved
        for key, fn in variants.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[key].append(time.perf_counter() - w0)
            cpu[key].append(time.process_time() - c0)
    med_wall = {k: statistics.median(v) for k, v in wall.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    min_wall = {k: min(v) for k, v in wall.items()}
    min_cpu = {k: min(v) for k, v in cpu.items()}
    agreement = fidelity(results["captum"][0].detach(), torch.from_numpy(results["ours"].attribution))
    info = {"model": args.model, "n": n, "reps": reps, "our_batch": batch, "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(), "torch": torch.__version__, "timm": timm.__version__,
            "cpu": platform.processor() or platform.machine(), "date": time.strftime("%Y-%m-%d"),
            "prepared": ours_model.notes, "single_sample_s": probe.seconds}
    row = {"info": info, "wall_s": wall, "cpu_s": cpu, "median_wall_s": med_wall, "median_cpu_s": med_cpu,
           "min_wall_s": min_wall, "min_cpu_s": min_cpu,
           "ours_over_captum_cpu_min": min_cpu["ours"] / min_cpu["captum"],
           "ours_over_captum_wall_min": min_wall["ours"] / min_wall["captum"],
           "ours_over_captum_wall": med_wall["ours"] / med_wall["captum"],
           "ours_over_captum_cpu": med_cpu["ours"] / med_cpu["captum"],
           "ours_over_captum_same_batch_wall": med_wall["ours"] / med_wall["captum-same-batch"],
           "ours_over_captum_same_batch_cpu": med_cpu["ours"] / med_cpu["captum-same-batch"],
           "maps_agree": agreement}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(row, indent=2))
    print(f"{args.model}, n = {n}, {reps} interleaved repetitions, {torch.get_num_threads()} threads, our batch {batch}"
          f" ({'; '.join(ours_model.notes) or 'no model preparation'})")
    print("| variant | CPU time, median / min | ours / variant, CPU median / min | wall, median / min | "
          "ours / variant, wall median / min |")
    print("|---|---|---|---|---|")
    for key in variants:
        print(f"| {key} | {med_cpu[key]:.2f} / {min_cpu[key]:.2f} s | {med_cpu['ours'] / med_cpu[key]:.2f} / "
              f"{min_cpu['ours'] / min_cpu[key]:.2f} | {med_wall[key]:.2f} / {min_wall[key]:.2f} s | "
              f"{med_wall['ours'] / med_wall[key]:.2f} / {min_wall['ours'] / min_wall[key]:.2f} |")
    print(f"maps agree (same target, different noise): Spearman {agreement['spearman']:.3f}, "
          f"top-5 % IoU {agreement['iou_top5']:.3f}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
