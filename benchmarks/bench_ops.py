"""Per-op overhead and a 2-layer MLP training step, shendu vs PyTorch side by side.

    python benchmarks/bench_ops.py [--repeats 200]

Both frameworks run in this one process on the same data and weights, with the same number of
threads (NumPy's BLAS threads and torch.set_num_threads). The figure to read is the ratio
shendu time / PyTorch time (lower is better; the MLP target is <= 1.2).
"""
import argparse
import os
import platform
import time

import numpy as np

import shendu as sd


def median_time(fn, repeats, warmup=10):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def blas_threads():
    try:
        from threadpoolctl import threadpool_info

        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    except Exception:
        return os.cpu_count()


def op_rows(torch, repeats):
    a64 = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    rows = []
    cases = {
        "add (64x64)": (lambda x: x + x, lambda x: x + x),
        "mul (64x64)": (lambda x: x * x, lambda x: x * x),
        "matmul (64x64)": (lambda x: x @ x, lambda x: x @ x),
        "relu (64x64)": (lambda x: x.relu(), lambda x: x.relu()),
        "sum (64x64)": (lambda x: x.sum(), lambda x: x.sum()),
        "softmax (64x64)": (lambda x: sd.softmax(x, axis=1), lambda x: torch.softmax(x, 1)),
    }
    xs = sd.tensor(a64, requires_grad=True)
    xt = torch.tensor(a64, requires_grad=True)
    for name, (fs, ft) in cases.items():
        def s_step(fs=fs):
            fs(xs).sum().backward()

        def t_step(ft=ft):
            ft(xt).sum().backward()

        ts, tt = median_time(s_step, repeats), median_time(t_step, repeats)
        rows.append((name + " fwd+bwd", ts, tt))
    return rows


def mlp_row(torch, repeats, batch=128):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    w1 = (rng.standard_normal((512, 784)) * 0.03).astype(np.float32)
    b1 = np.zeros(512, np.float32)
    w2 = (rng.standard_normal((10, 512)) * 0.04).astype(np.float32)
    b2 = np.zeros(10, np.float32)

    ps = [sd.tensor(p, requires_grad=True) for p in (w1, b1, w2, b2)]
    xs, idx = sd.tensor(x), np.arange(batch)

    def s_step():
        h = sd.ops.linear(xs, ps[0], ps[1]).relu()
        logits = sd.ops.linear(h, ps[2], ps[3])
        loss = -sd.log_softmax(logits, axis=1)[idx, y].mean()
        for p in ps:
            p.grad = None
        loss.backward()
        with sd.no_grad():
            for p in ps:
                p.array -= 0.01 * p.grad.array
        return loss

    pt = [torch.tensor(p, requires_grad=True) for p in (w1, b1, w2, b2)]
    xt, yt = torch.tensor(x), torch.tensor(y)

    def t_step():
        h = torch.nn.functional.linear(xt, pt[0], pt[1]).relu()
        logits = torch.nn.functional.linear(h, pt[2], pt[3])
        loss = torch.nn.functional.cross_entropy(logits, yt)
        for p in pt:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in pt:
                p -= 0.01 * p.grad
        return loss

    np.testing.assert_allclose(s_step().item(), t_step().item(), rtol=1e-4)
    # interleave the two so machine noise hits both alike
    ts, tt = [], []
    for _ in range(3):
        ts.append(median_time(s_step, repeats // 3 or 1))
        tt.append(median_time(t_step, repeats // 3 or 1))
    return (f"MLP 784-512-10 step, batch {batch}", min(ts), min(tt))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    import torch

    threads = blas_threads()
    torch.set_num_threads(threads)
    print(f"# {platform.processor() or platform.machine()}, numpy {np.__version__}, "
          f"torch {torch.__version__}, threads {threads}")
    rows = op_rows(torch, args.repeats) + [mlp_row(torch, args.repeats)]
    print(f"{'case':38s} {'shendu':>10s} {'torch':>10s} {'ratio':>7s}")
    for name, ts, tt in rows:
        print(f"{name:38s} {ts * 1e6:8.1f}us {tt * 1e6:8.1f}us {ts / tt:6.2f}x")


if __name__ == "__main__":
    main()
