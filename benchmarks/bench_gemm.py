"""Float32 matrix products of the bench_epochs models: NumPy's BLAS, oneDNN (shendu[fast]) and torch.mm.

    python benchmarks/bench_gemm.py [--threads 1]

Prints GFLOP/s per shape (m×k @ k×n) for each, measured side by side in one process.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

SHAPES = [  # (m, k, n, where it comes from)
    (512, 128, 64, "LSTM step W_hh h (batch 64)"),
    (128, 512, 64, "LSTM step backward W_hhᵀ dA"),
    (512, 1792, 128, "LSTM dW_hh over 28 steps"),
    (21632, 9, 32, "seed CNN conv1 (im2col, batch 32)"),
    (3872, 288, 64, "seed CNN conv2"),
    (288, 3872, 64, "seed CNN conv2 weight gradient"),
    (128, 784, 512, "MLP layer 1 (batch 128)"),
]


def rate(f, flops, reps):
    f()
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    return flops * reps / (time.perf_counter() - t0) / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=100)
    args = ap.parse_args()
    import threadpoolctl
    import torch

    from shendu import _gemm

    threadpoolctl.threadpool_limits(args.threads, user_api="blas")
    torch.set_num_threads(args.threads)
    have = _gemm.load()
    # shendu's first product shortens OpenBLAS's idle spin (backend._shorten_openblas_spin): without it
    # OpenBLAS's workers would spin 0.1 s after each NumPy product, on the cores oneDNN then wants
    from shendu import backend
    backend.matmul(np.ones((512, 512)), np.ones((512, 512)))
    print(f"# threads {args.threads}; oneDNN {'loaded' if have else 'not installed'}; "
          f"numpy {np.__version__}, torch {torch.__version__}")
    print("| product | m×k×n | NumPy GFLOP/s | oneDNN GFLOP/s | torch.mm GFLOP/s |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for m, k, n, what in SHAPES:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        out = np.empty((m, n), np.float32)
        fl = 2.0 * m * k * n
        r_np = rate(lambda a=a, b=b, out=out: np.matmul(a, b, out=out), fl, args.reps)
        r_dn = (rate(lambda a=a, b=b, out=out: _gemm.gemm(a, b, out, threads=args.threads), fl, args.reps)
                if have else float("nan"))
        ta, tb, to = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
        r_t = rate(lambda ta=ta, tb=tb, to=to: torch.mm(ta, tb, out=to), fl, args.reps)
        print(f"| {what} | {m}×{k}×{n} | {r_np:.0f} | {r_dn:.0f} | {r_t:.0f} |")


if __name__ == "__main__":
    main()
