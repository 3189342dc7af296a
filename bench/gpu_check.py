"""GPU path checks, run on a CUDA machine (prints one JSON line per check).

    python bench/gpu_check.py

* the CUDA map equals the CPU map (same model, same input; noise differs by device, so n is large and the
  comparison is on the smoothed map's ranks);
* no host synchronisation per batch: CUDA's sync-debug mode counts synchronising calls during a run without a
  progress callback (expected: a constant few — sigma at the start, the host copies at the end — independent of
  the number of batches);
* the automatic batch size (memory probe) and the bf16 fidelity gate on ResNet-50 and Inception v3.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torchvision  # noqa: E402

from bench.bench_smoothgrad import build, make_input  # noqa: E402
from smoothgrad_desktop.core.models.torchvision_models import choose_memory_format  # noqa: E402
from smoothgrad_desktop.core.smoothing import SmoothingConfig, fidelity, smooth_attribution  # noqa: E402


def count_syncs(fn) -> int:
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn()
            torch.cuda.synchronize()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message).lower() for w in caught)


def main() -> int:
    dev = torch.device("cuda")
    print(json.dumps({"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
                      "torchvision": torchvision.__version__}))
    # 1. CUDA vs CPU on the same network
    for name, size in (("resnet50", 224),):
        cpu_net, gpu_net = build(name, torch.device("cpu"), channels_last=True), build(name, dev, channels_last=True)
        x = make_input(name, size, torch.device("cpu"))
        cfg = SmoothingConfig(n_samples=200, batch_size=50, seed=0)
        a = smooth_attribution(cpu_net, x, 3, SmoothingConfig(aggregation="none"))
        b = smooth_attribution(gpu_net, x.to(dev), 3, SmoothingConfig(aggregation="none"))
        plain = fidelity(torch.from_numpy(a.mean), torch.from_numpy(b.mean))
        a = smooth_attribution(cpu_net, x, 3, cfg)
        b = smooth_attribution(gpu_net, x.to(dev), 3, cfg)
        smooth = fidelity(torch.from_numpy(a.mean), torch.from_numpy(b.mean))
        print(json.dumps({"check": "cuda_vs_cpu", "model": name, "gradient": plain, "smoothgrad_n200": smooth}))
    # 2. host synchronisations per run, for 2 and 8 batches
    net = build("resnet50", dev, channels_last=True)
    x = make_input("resnet50", 224, dev)
    smooth_attribution(net, x, 3, SmoothingConfig(n_samples=16, batch_size=8))
    syncs = {}
    for batches in (2, 8):
        syncs[batches] = count_syncs(lambda: smooth_attribution(net, x, 3, SmoothingConfig(n_samples=8 * batches,
                                                                                           batch_size=8)))
    print(json.dumps({"check": "host_syncs_per_run", "batches_2": syncs[2], "batches_8": syncs[8],
                      "per_batch": (syncs[8] - syncs[2]) / 6}))
    # 3. automatic batch size and bf16 gate
    for name, size in (("resnet50", 224), ("inception_v3", 299), ("vgg16", 224)):
        net = build(name, dev, channels_last=False)
        x = make_input(name, size, dev)
        layout = choose_memory_format(net, tuple(x.shape), dev)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        r = smooth_attribution(net, x, 3, SmoothingConfig(n_samples=500))
        torch.cuda.synchronize()
        t_auto = time.perf_counter() - t0
        g = smooth_attribution(net, x, 3, SmoothingConfig(n_samples=100, batch_size=50, precision="bf16"))
        f = smooth_attribution(net, x, 3, SmoothingConfig(n_samples=100, batch_size=50))
        print(json.dumps({"check": "auto_batch_bf16", "model": name, "layout": str(layout), "auto_batch": r.batch_size,
                          "n500_seconds_auto_batch": round(t_auto, 3), "bf16_gate": g.fidelity,
                          "bf16_used": g.precision, "bf16_vs_fp32_whole_map": fidelity(torch.from_numpy(f.mean),
                                                                                      torch.from_numpy(g.mean))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
