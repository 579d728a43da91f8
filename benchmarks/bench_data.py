"""DataLoader throughput on Fashion-MNIST: shendu vs torch.utils.data, in one run.

Both loaders iterate the same uint8 arrays (60,000 x 1 x 28 x 28, int64 labels) in shuffled
batches of 128 and yield framework tensors. Two cases:

- plain: no augmentation;
- augmented: RandomCrop(28, padding=2) + RandomHorizontalFlip(0.5). shendu applies them once
  per fancy-indexed batch (vectorized, a random crop position and flip per sample); torch
  applies the equivalent per sample inside ``Dataset.__getitem__`` (pad, crop at a random
  offset, flip with probability 0.5), which is what torchvision's transforms do in a
  torch ``DataLoader``.

Run: ``python benchmarks/bench_data.py [--epochs 3] [--batch-size 128]``. Prints samples/s
(best epoch) and the ratio shendu / torch (higher is better for shendu).
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from shendu.data import DataLoader, TensorDataset, datasets
from shendu.data import transforms as T


def best_rate(loader, epochs):
    best = 0.0
    for _ in range(epochs):
        start, n = time.perf_counter(), 0
        for xb, _ in loader:
            n += len(xb)
        best = max(best, n / (time.perf_counter() - start))
    return best


def torch_loaders(x, y, batch_size):
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader as TorchLoader
    from torch.utils.data import Dataset as TorchDataset
    from torch.utils.data import TensorDataset as TorchTensorDataset

    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    class Augmented(TorchDataset):
        """Per-sample RandomCrop(28, padding=2) + RandomHorizontalFlip(), torchvision style."""

        def __len__(self):
            return len(tx)

        def __getitem__(self, i):
            img = F.pad(tx[i], (2, 2, 2, 2))
            top, left = torch.randint(0, 5, (2,)).tolist()
            img = img[:, top : top + 28, left : left + 28]
            if torch.rand(1).item() < 0.5:
                img = img.flip(-1)
            return img, ty[i]

    gen = torch.Generator().manual_seed(0)
    plain = TorchLoader(TorchTensorDataset(tx, ty), batch_size=batch_size, shuffle=True, generator=gen)
    augmented = TorchLoader(Augmented(), batch_size=batch_size, shuffle=True, generator=gen)
    return plain, augmented, torch.__version__


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()

    (x, y), _ = datasets.fashion_mnist()
    x = np.ascontiguousarray(x[:, None])
    ds = TensorDataset(x, y)
    aug = T.Compose([T.RandomCrop(28, padding=2), T.RandomHorizontalFlip(0.5)])
    ours = {
        "plain": DataLoader(ds, batch_size=args.batch_size, shuffle=True, generator=0),
        "augmented": DataLoader(ds, batch_size=args.batch_size, shuffle=True, generator=0, transform=aug),
    }
    try:
        t_plain, t_aug, version = torch_loaders(x, y, args.batch_size)
        theirs = {"plain": t_plain, "augmented": t_aug}
    except ImportError:
        theirs, version = {}, None
    print(
        f"Fashion-MNIST {x.shape}, batch {args.batch_size}, shuffle, best of {args.epochs} epochs"
        + (f", torch {version}" if version else ", torch not installed")
    )
    for case in ("plain", "augmented"):
        mine = best_rate(ours[case], args.epochs)
        line = f"{case:>10}: shendu {mine:12,.0f} samples/s"
        if case in theirs:
            ref = best_rate(theirs[case], 1 if case == "augmented" else args.epochs)
            line += f" | torch {ref:10,.0f} samples/s | ratio {mine / ref:6.1f}x"
        print(line)


if __name__ == "__main__":
    main()
