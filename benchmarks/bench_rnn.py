"""Recurrent training steps, shendu vs PyTorch side by side: LSTM and GRU.

    python benchmarks/bench_rnn.py [--repeats 30] [--no-memory] [--profile lstm|gru]

Model: LSTM(28→128) (or GRU) over 28 steps, batch 64, batch_first, then Linear(128→10) on the last
output, cross-entropy loss, backward, one SGD step (lr 0.01) — the classic "MNIST rows as a
sequence" classifier.

Fairness:
- Same weights (PyTorch's initial weights copied into shendu by name) and the same data; the first
  losses are compared before timing.
- Threads: PyTorch runs with ``torch.set_num_threads(n)``, n = NumPy's BLAS threads.
- Time: warm-up steps, then the two frameworks alternate in blocks; the figure is the median step.
- Memory: each framework runs the steps in a fresh subprocess; the figure is its peak resident memory
  during the steps minus the resident memory just before them (Linux VmHWM, reset through
  /proc/self/clear_refs), which counts NumPy's and PyTorch's allocations alike.

``run(repeats=30)`` returns one dict per model with, in this order, ``name``, ``shendu_ms``,
``torch_ms``, ``ratio`` (shendu / torch, lower is better; the target is ≤ 1.3),
``shendu_peak_mb``, ``torch_peak_mb`` (None when memory is not measured), plus ``shendu_s`` and
``torch_s`` (the times in seconds).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SEQ, FEATURES, HIDDEN, BATCH, CLASSES, LR = 28, 28, 128, 64, 10, 0.01


def blas_threads():
    try:
        import threadpoolctl

        info = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        return max(i["num_threads"] for i in info) if info else os.cpu_count()
    except ImportError:
        return os.cpu_count()


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SEQ, FEATURES)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH).astype(np.int64)
    return x, y


def make_steps(kind, torch, seed=0):
    """The training-step closures (shendu, torch) for ``kind`` "lstm" or "gru": same weights, same data."""
    import shendu as sd
    import shendu.nn as nn
    import shendu.optim as optim

    torch.manual_seed(seed)
    t_cls, s_cls = (torch.nn.LSTM, nn.LSTM) if kind == "lstm" else (torch.nn.GRU, nn.GRU)
    t_rnn = t_cls(FEATURES, HIDDEN, batch_first=True)
    t_head = torch.nn.Linear(HIDDEN, CLASSES)
    s_rnn = s_cls(FEATURES, HIDDEN, batch_first=True)
    s_head = nn.Linear(HIDDEN, CLASSES)
    for t_mod, s_mod in ((t_rnn, s_rnn), (t_head, s_head)):
        s_mod.load_state_dict({k: v.detach().numpy().copy() for k, v in t_mod.state_dict().items()})
    x, y = make_data(seed)

    s_params = list(s_rnn.parameters()) + list(s_head.parameters())
    s_opt = optim.SGD(s_params, lr=LR)
    s_loss = nn.CrossEntropyLoss()
    xs, ys = sd.Tensor(x), sd.Tensor(y)

    def s_step():
        out, _ = s_rnn(xs)
        loss = s_loss(s_head(out[:, -1, :]), ys)
        s_opt.zero_grad()
        loss.backward()
        s_opt.step()
        return float(loss.item())

    t_params = list(t_rnn.parameters()) + list(t_head.parameters())
    t_opt = torch.optim.SGD(t_params, lr=LR)
    t_loss = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def t_step():
        out, _ = t_rnn(xt)
        loss = t_loss(t_head(out[:, -1, :]), yt)
        t_opt.zero_grad()
        loss.backward()
        t_opt.step()
        return float(loss.item())

    return s_step, t_step


def _median(fn, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def time_steps(s_step, t_step, repeats, warmup=3, blocks=3):
    """Median seconds per step of each, the two alternating in ``blocks`` so machine noise hits both."""
    for _ in range(warmup):
        s_step()
        t_step()
    ts, tt = [], []
    per = max(1, repeats // blocks)
    for _ in range(blocks):
        ts += _median(s_step, per)
        tt += _median(t_step, per)
    return float(np.median(ts)), float(np.median(tt))


# ----- memory, one subprocess per framework and model -------------------------------------------
def _rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def memory_child(framework, kind, steps, threads):
    """Run ``steps`` training steps in this process; print the peak extra resident memory (KiB)."""
    import torch

    torch.set_num_threads(threads)
    s_step, t_step = make_steps(kind, torch)
    step = s_step if framework == "shendu" else t_step
    step()
    step()
    before = _rss_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                                 # reset VmHWM to the current RSS
    for _ in range(steps):
        step()
    print(json.dumps({"extra_kib": _rss_kib("VmHWM") - before}))


def measure_memory(framework, kind, steps, threads):
    """Peak extra MiB of ``steps`` steps in a fresh subprocess, or None where it cannot be measured."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    try:
        out = subprocess.run([sys.executable, os.path.join(HERE, "bench_rnn.py"), "--memory-child",
                              framework, "--kind", kind, "--threads", str(threads), "--repeats", str(steps)],
                             capture_output=True, text=True, env=env, check=True, timeout=600)
        return json.loads(out.stdout.strip().splitlines()[-1])["extra_kib"] / 1024
    except (OSError, subprocess.SubprocessError, ValueError, IndexError, KeyError):
        return None


def run(repeats=30, torch=None, memory=True, kinds=("lstm", "gru")):
    """Time (and measure the memory of) the LSTM and GRU training steps; one dict per model."""
    if torch is None:
        import torch
    threads = blas_threads()
    torch.set_num_threads(threads)
    rows = []
    for kind in kinds:
        s_step, t_step = make_steps(kind, torch)
        ls, lt = s_step(), t_step()
        if abs(ls - lt) > 1e-4 * max(1.0, abs(lt)):
            print(f"warning: {kind} first-step losses differ: shendu {ls:.6f}, torch {lt:.6f}")
        ts, tt = time_steps(s_step, t_step, repeats)
        ms = mt = None
        if memory and os.path.exists("/proc/self/clear_refs"):
            steps = max(5, repeats // 3)
            ms = measure_memory("shendu", kind, steps, threads)
            mt = measure_memory("torch", kind, steps, threads)
        name = f"{kind.upper()}(28→128) train step, T=28, batch 64"
        rows.append({"name": name, "shendu_ms": ts * 1e3, "torch_ms": tt * 1e3, "ratio": ts / tt,
                     "shendu_peak_mb": ms, "torch_peak_mb": mt, "shendu_s": ts, "torch_s": tt})
    return rows


def profile(kind, steps=30):
    """cProfile of shendu's training step: where the time goes, by function."""
    import cProfile
    import pstats

    import torch

    s_step, _ = make_steps(kind, torch)
    s_step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        s_step()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(18)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--profile", choices=("lstm", "gru"))
    ap.add_argument("--kind", choices=("lstm", "gru"), default="lstm", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--memory-child", choices=("shendu", "torch"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.kind, args.repeats, args.threads or 1)
        return
    if args.profile:
        profile(args.profile)
        return

    import torch

    import shendu  # noqa: F401  (loads NumPy's BLAS so its thread count can be read)

    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs; NumPy BLAS threads = torch threads = {blas_threads()}")
    rows = run(args.repeats, torch, memory=not args.no_memory)
    print(f"\n{'case':44s} {'shendu ms':>10s} {'torch ms':>10s} {'ratio':>6s} {'shendu MiB':>11s} "
          f"{'torch MiB':>10s}")
    for r in rows:
        mem = "".join(f" {v:10.1f}" if v is not None else f" {'-':>10s}"
                      for v in (r["shendu_peak_mb"], r["torch_peak_mb"]))
        print(f"{r['name']:44s} {r['shendu_ms']:10.2f} {r['torch_ms']:10.2f} {r['ratio']:6.2f}{mem}")


if __name__ == "__main__":
    main()
