"""Layer benchmarks, shendu vs PyTorch side by side: a small CNN training step (plus the LSTM/GRU rows
of ``benchmarks/bench_rnn.py`` when that file is present).

    python benchmarks/bench_layers.py [--repeats 30] [--batch 32] [--optim sgd|adam] [--no-memory]

CNN: Conv2d(1→32, 3) + ReLU + MaxPool2d(2) + Conv2d(32→64, 3) + ReLU + MaxPool2d(2) + Flatten +
Linear(1600→10), cross-entropy loss, one optimizer step, on a batch of 28×28×1 images.

Fairness:
- Same weights (PyTorch's initial weights copied into shendu), same data, same optimizer settings.
- Threads: PyTorch runs with ``torch.set_num_threads(n)`` where n is the number of BLAS threads
  NumPy uses (read with threadpoolctl); both are printed.
- Time: warm-up steps, then the median of ``--repeats`` steps, both frameworks in this process.
- Memory: each framework runs the same training steps in a fresh subprocess; the figure is the
  peak resident memory during the steps minus the resident memory just after the imports (Linux VmHWM,
  reset through /proc/self/clear_refs; ru_maxrss where that is not available). It counts every
  allocation (NumPy's and PyTorch's alike), which tracemalloc cannot do for PyTorch.
The figure to read is the ratio shendu / PyTorch (lower is better; the CNN target is ≤ 1.0).
"""
import argparse
import inspect
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def blas_threads():
    try:
        import threadpoolctl

        info = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        return max(i["num_threads"] for i in info) if info else os.cpu_count()
    except ImportError:
        return os.cpu_count()


def median_time(fn, repeats, warmup=5):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


# ----- the CNN in both frameworks -----------------------------------------------------------------
def make_data(batch, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    return x, y


def torch_cnn(torch, seed=0):
    torch.manual_seed(seed)
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 10))


def shendu_cnn(torch_model):
    """The same CNN in shendu, with the PyTorch model's weights."""
    import shendu as sd
    from shendu.nn.conv import Conv2d
    from shendu.nn.linear import Linear
    from shendu.nn.module import Module
    from shendu.nn.pooling import MaxPool2d

    class CNN(Module):
        def __init__(self):
            super().__init__()
            self.conv1 = Conv2d(1, 32, 3)
            self.pool = MaxPool2d(2)
            self.conv2 = Conv2d(32, 64, 3)
            self.fc = Linear(1600, 10)

        def forward(self, x):
            x = self.pool(sd.relu(self.conv1(x)))
            x = self.pool(sd.relu(self.conv2(x)))
            return self.fc(sd.flatten(x, 1))

    model = CNN()
    tsd = torch_model.state_dict()
    names = {"conv1": "0", "conv2": "3", "fc": "7"}
    for layer, idx in names.items():
        for p in ("weight", "bias"):
            getattr(model, layer).__dict__["_parameters"][p].array[...] = tsd[f"{idx}.{p}"].numpy()
    return model


def shendu_loss():
    try:
        from shendu.nn.functional import cross_entropy

        return cross_entropy
    except ImportError:
        import shendu as sd

        def cross_entropy(logits, target):
            idx = np.arange(logits.shape[0])
            return -sd.log_softmax(logits, axis=1)[idx, target.array].mean()

        return cross_entropy


def shendu_optimizer(params, kind, lr):
    try:
        import shendu.optim as optim

        return optim.SGD(params, lr=lr) if kind == "sgd" else optim.Adam(params, lr=lr)
    except (ImportError, AttributeError):
        if kind != "sgd":
            raise

        class PlainSGD:
            def __init__(self, params):
                self.params = list(params)

            def zero_grad(self):
                for p in self.params:
                    p.grad = None

            def step(self):
                for p in self.params:
                    p.array -= lr * p.grad.array

        return PlainSGD(params)


def cnn_steps(batch, kind, lr=0.01):
    """(shendu step, torch step, torch module) closures over the same weights and data."""
    import torch

    import shendu as sd

    x, y = make_data(batch)
    tmodel = torch_cnn(torch)
    smodel = shendu_cnn(tmodel)
    topt = torch.optim.SGD(tmodel.parameters(), lr=lr) if kind == "sgd" else \
        torch.optim.Adam(tmodel.parameters(), lr=lr)
    sopt = shendu_optimizer(smodel.parameters(), kind, lr)
    loss_fn = shendu_loss()
    xs, ys = sd.Tensor(x), sd.Tensor(y)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def s_step():
        sopt.zero_grad()
        loss = loss_fn(smodel(xs), ys)
        loss.backward()
        sopt.step()
        return loss

    def t_step():
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(xt), yt)
        loss.backward()
        topt.step()
        return loss

    return s_step, t_step


# ----- memory, one subprocess per framework -------------------------------------------------------
def _rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def memory_child(framework, batch, kind, steps, threads):
    """Run ``steps`` training steps of one framework; print the peak extra resident memory (KiB)."""
    import resource

    import torch

    torch.set_num_threads(threads)
    try:
        # from just after the imports: counts activations, gradients, optimizer state and anything an
        # allocator keeps for reuse (both frameworks cache freed memory)
        before = _rss_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")                         # reset the peak (VmHWM) to the current RSS
        s_step, t_step = cnn_steps(batch, kind)
        step = s_step if framework == "shendu" else t_step
        for _ in range(steps):
            step()
        extra = _rss_kib("VmHWM") - before
        method = "VmHWM"
    except (OSError, KeyError):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        s_step, t_step = cnn_steps(batch, kind)
        step = s_step if framework == "shendu" else t_step
        for _ in range(steps):
            step()
        extra = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        method = "ru_maxrss"
    print(json.dumps({"extra_kib": extra, "method": method}))


def measure_memory(framework, batch, kind, steps, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, "--memory-child", framework, "--batch", str(batch),
                          "--optim", kind, "--threads", str(threads)],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----- recurrent rows from bench_rnn.py ------------------------------------------------------------
def rnn_rows(torch, repeats):
    path = os.path.join(HERE, "bench_rnn.py")
    if not os.path.exists(path):
        return []
    sys.path.insert(0, HERE)
    try:
        from bench_rnn import run
    except ImportError as exc:
        print(f"(bench_rnn.py present but its run() cannot be imported: {exc})")
        return []
    offer = {"torch": torch, "repeats": repeats, "quiet": True, "verbose": False}
    params = inspect.signature(run).parameters
    kwargs = {k: v for k, v in offer.items() if k in params}
    rows = []
    for row in run(**kwargs) or []:
        if isinstance(row, dict):
            name = row.get("name") or row.get("case") or "?"
            ts = row.get("shendu_s", row.get("shendu"))
            tt = row.get("torch_s", row.get("torch"))
            rows.append((name, ts, tt))
        else:
            rows.append(tuple(row[:3]))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--optim", choices=("sgd", "adam"), default="sgd")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--no-rnn", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--memory-child", choices=("shendu", "torch"), help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.memory_child:
        memory_child(args.memory_child, args.batch, args.optim, max(5, args.repeats // 3),
                     args.threads or 1)
        return

    import torch

    import shendu  # noqa: F401  (loads NumPy's BLAS so its thread count can be read)

    threads = args.threads or blas_threads()
    torch.set_num_threads(threads)
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs; NumPy BLAS threads = torch threads = {threads}")
    s_step, t_step = cnn_steps(args.batch, args.optim)
    ls, lt = float(s_step().item()), float(t_step().item())
    if abs(ls - lt) > 1e-4 * max(1.0, abs(lt)):
        print(f"warning: first-step losses differ: shendu {ls:.6f}, torch {lt:.6f}")
    name = f"CNN train step (batch {args.batch}, {args.optim})"
    rows = [(name, median_time(s_step, args.repeats), median_time(t_step, args.repeats))]
    if not args.no_rnn:
        rows += rnn_rows(torch, args.repeats)

    print(f"\n{'case':44s} {'shendu ms':>10s} {'torch ms':>10s} {'ratio':>7s}")
    for case, ts, tt in rows:
        ratio = ts / tt if ts and tt else float("nan")
        print(f"{case:44s} {ts * 1e3:10.2f} {tt * 1e3:10.2f} {ratio:7.2f}")

    if not args.no_memory:
        ms = measure_memory("shendu", args.batch, args.optim, args.repeats, threads)
        mt = measure_memory("torch", args.batch, args.optim, args.repeats, threads)
        print(f"\npeak extra resident memory during the CNN steps ({ms['method']}, one subprocess each): "
              f"shendu {ms['extra_kib'] / 1024:.1f} MiB, torch {mt['extra_kib'] / 1024:.1f} MiB, "
              f"ratio {ms['extra_kib'] / max(mt['extra_kib'], 1):.2f}")


if __name__ == "__main__":
    main()
