"""SmoothGrad speed, side by side in one process: ours vs Captum vs the hardware floor.

    python bench/bench_smoothgrad.py [--quick] [--device auto|cpu|cuda] [--json PATH]

For each model (embedded MNIST CNN, ResNet-50 at 224, Inception v3 at 299; random weights are fine for timing)
and the same n = 50 noisy inputs, batch size and absolute sigma, it times, interleaved, the median of
``--reps`` repetitions of:

* ours   — ``smooth_attribution`` on the model as the app loads it (parameters frozen, BatchNorm folded into the
           convolutions, channels-last on CPUs / the faster layout timed once on CUDA), block-wise per-index
           noise on the device, streaming moments;
* captum — ``NoiseTunnel(Saliency(abs=False)).attribute(nt_type="smoothgrad", nt_samples=50, stdevs=sigma)``
           on the model as its users hold it (``eval()``, parameters trainable, NCHW);
* captum-frozen — the same with the parameters frozen (``requires_grad_(False)``), i.e. Captum given one of
           our own fast paths, reported for transparency;
* floor  — a bare batched forward + input-only backward of 50 pre-generated noisy inputs, fp32 NCHW;
* ours-bf16 (CUDA only) — bf16 autocast behind the fidelity gate, with the gate's Spearman/IoU reported.

Then the peak memory of ours at n = 500 vs n = 50 (fresh subprocesses; CUDA: max allocated, CPU: peak RSS).
It prints a table with ours/captum and ours/floor ratios and writes it as JSON. Timing thresholds live here,
never in unit tests.
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


def build(name: str, device: torch.device, *, channels_last: bool) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == "mnist":
        net = MnistNet()
    elif name == "inception_v3":
        net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    else:
        net = torchvision.models.get_model(name, weights=None)
    net = net.eval().requires_grad_(False).to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net


def make_input(name: str, size: int, device: torch.device) -> torch.Tensor:
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
    if name != "mnist":  # as the app's model loader prepares torchvision models: BN folded, layout chosen
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
    if device.type == "cuda":
        cfg16 = SmoothingConfig(n_samples=n, batch_size=batch, noise_level=0.15, precision="bf16")

        def ours_bf16():
            return smooth_attribution(ours_net, x, target, cfg16)

        variants["ours-bf16"] = ours_bf16
    for fn in variants.values():  # warm up (cuDNN autotune, allocator, oneDNN primitive caches)
        fn()
    times = {k: [] for k in variants}
    for _ in range(reps):  # interleaved
        for key, fn in variants.items():
            times[key].append(timed(fn, device))
    if device.type == "cuda":
        gated = smooth_attribution(ours_net, x, target, SmoothingConfig(n_samples=n, batch_size=batch,
                                                                         precision="bf16"))
        full32 = smooth_attribution(ours_net, x, target, SmoothingConfig(n_samples=n, batch_size=batch))
        bf16_gate = {"gate": gated.fidelity, "precision_used": gated.precision,
                     "whole_map": fidelity(torch.from_numpy(full32.mean), torch.from_numpy(gated.mean))}
    med = {k: statistics.median(v) for k, v in times.items()}
    row = {"model": name, "size": size, "n": n, "batch": batch, "reps": reps,
           "median_s": med, "all_s": times,
           "ours_over_captum": med["ours"] / med["captum"], "ours_over_floor": med["ours"] / med["floor"],
           "ours_over_captum_frozen": med["ours"] / med["captum-frozen"]}
    if "ours-bf16" in med:
        row["bf16_over_floor"] = med["ours-bf16"] / med["floor"]
        row["bf16"] = bf16_gate
    return row


MEMORY_CHILD = r"""
import sys, resource, json, torch
sys.path.insert(0, sys.argv[1])
from bench.bench_smoothgrad import build, make_input
from smoothgrad_desktop.core.smoothing import SmoothingConfig, smooth_attribution
name, size, n, batch, dev = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), torch.device(sys.argv[6])
torch.set_num_threads(int(sys.argv[7]))
from smoothgrad_desktop.core.models.torchvision_models import choose_memory_format, fold_batch_norm
net = build(name, dev, channels_last=False); x = make_input(name, size, dev)
if name != "mnist":
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
    ap.add_argument("--batch", type=int, default=None, help="batch size for all three (default 50 GPU, 16 CPU)")
    ap.add_argument("--models", default="mnist,resnet50,inception_v3")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "smoothgrad.json"))
    args = ap.parse_args(argv)
    from smoothgrad_desktop.core.devices import describe_device, resolve_device

    device = resolve_device(args.device)
    torch.backends.cudnn.benchmark = True
    sizes = {"mnist": 28, "resnet50": 224, "inception_v3": 299}
    n = 50
    batch = args.batch or (50 if device.type == "cuda" else 16)
    models = args.models.split(",")
    reps = args.reps
    if args.quick:
        sizes = {"mnist": 28, "resnet50": 64, "inception_v3": 96}
        models, n, reps = ["mnist", "resnet50"], 16, 3
        batch = min(batch, 16)
    info = {"device": describe_device(device), "torch": torch.__version__, "torchvision": torchvision.__version__,
            "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d"), "quick": args.quick}
    rows = []
    for name in models:
        b = n if name == "mnist" else batch
        row = bench_model(name, sizes[name], n, b, reps, device)
        rows.append(row)
        m = row["median_s"]
        print(f"{name:13s} {sizes[name]:4d}px n={n} b={b}: ours {m['ours'] * 1e3:9.1f} ms  captum "
              f"{m['captum'] * 1e3:9.1f} ms  floor {m['floor'] * 1e3:9.1f} ms  ours/captum "
              f"{row['ours_over_captum']:.2f}  ours/captum-frozen {row['ours_over_captum_frozen']:.2f}  "
              f"ours/floor {row['ours_over_floor']:.2f}"
              + (f"  bf16/floor {row['bf16_over_floor']:.2f} (gate {row['bf16']['gate']})" if "bf16" in row else ""),
              flush=True)
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
    out = {"info": info, "rows": rows, "memory": memory}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print("\n| model | input | ours | Captum | Captum (frozen) | floor | ours/Captum | ours/Captum (frozen) | ours/floor |"
          "\n|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        m = r["median_s"]
        print(f"| {r['model']} | {r['size']}px | {m['ours'] * 1e3:.1f} ms | {m['captum'] * 1e3:.1f} ms | "
              f"{m['captum-frozen'] * 1e3:.1f} ms | {m['floor'] * 1e3:.1f} ms | {r['ours_over_captum']:.2f} | "
              f"{r['ours_over_captum_frozen']:.2f} | {r['ours_over_floor']:.2f} |")
    print(f"\n{info['device']}, torch {info['torch']}, {info['date']}; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
