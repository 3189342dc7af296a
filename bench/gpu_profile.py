"""Where the time goes on a GPU: floor vs engine, NCHW vs channels-last, and the engine's own parts."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from bench.bench_smoothgrad import build, make_input  # noqa: E402
from smoothgrad_desktop.core.smoothing import SmoothingConfig, StreamingMoments, NoiseSource, noise_sigma, smooth_attribution  # noqa: E402


def med(fn, dev, reps=10):
    fn()
    fn()
    ts = []
    for _ in range(reps):
        torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize(dev)
        ts.append(time.perf_counter() - t0)
    return round(statistics.median(ts) * 1e3, 3)


def main():
    dev = torch.device(sys.argv[1] if len(sys.argv) > 1 else "cuda")
    torch.backends.cudnn.benchmark = True
    for name, size in (("resnet50", 224), ("inception_v3", 299), ("mnist", 28)):
        x = make_input(name, size, dev)
        sigma = noise_sigma(x, 0.15)
        n = 50
        out = {"model": name}
        nets = {"nchw": build(name, dev, channels_last=False), "nhwc": build(name, dev, channels_last=True)}
        noisy = (x.unsqueeze(0) + sigma * torch.randn(n, *x.shape, device=dev))
        for key, net in nets.items():
            fmt = torch.channels_last if key == "nhwc" else torch.contiguous_format

            def floor(net=net, fmt=fmt):
                xb = noisy.contiguous(memory_format=fmt).requires_grad_(True)
                torch.autograd.grad(net(xb)[:, 3].sum(), xb)

            out[f"floor_{key}"] = med(floor, dev)
            for cl in (False, True):
                out[f"ours_{key}_feed_{'nhwc' if cl else 'nchw'}"] = med(
                    lambda net=net, cl=cl: smooth_attribution(net, x, 3, SmoothingConfig(n_samples=n, batch_size=n),
                                                              channels_last=cl), dev)
        out["noise_50"] = med(lambda: NoiseSource(x.shape, 0, dev).take(range(n)), dev)
        grads = torch.randn(n, *x.shape, device=dev)
        m64 = StreamingMoments(x.shape, dev, torch.float64)
        m32 = StreamingMoments(x.shape, dev, torch.float32)
        out["moments_f64"] = med(lambda: m64.update(grads), dev)
        out["moments_f32"] = med(lambda: m32.update(grads), dev)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
