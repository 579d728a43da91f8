"""Whole training epochs and single-request inference, shendu vs PyTorch, side by side in one process.

    python benchmarks/bench_epochs.py [--rounds 3] [--limit 6000] [--models mlp,cnn,bn_cnn,lstm,gru,resnet]
                                      [--threads N] [--clock wall|cpu] [--no-keras] [--only-keras]
                                      [--keras-rounds 21] [--keras-seconds 10] [--load K] [--no-predict]
                                      [--no-memory] [--no-scaling]
                                      [--only-predict] [--predict-reps N]

Every model is written ONCE below, as a PyTorch-style module and loop that take the framework as an
argument (``fw`` is ``torch`` or ``shendu``): the same code runs on both, only the import differs.
One "epoch" is ``--limit`` Fashion-MNIST training images (default 6000, a tenth of the real epoch, so a
full run takes a few minutes); the loop is exactly

    for i in range(0, n, bs):
        idx = perm[i:i + bs]
        opt.zero_grad(); loss = F.cross_entropy(model(x[idx]), y[idx]); loss.backward(); opt.step()

with Adam 1e-3. Fairness: the same initial weights (PyTorch's are copied into shendu), the same data
and permutation, the same number of threads (``torch.set_num_threads`` = NumPy's BLAS threads).
Rounds alternate the frameworks (shendu, PyTorch, shendu, ...) so a busy machine hits both alike; the
table prints min–max over rounds for each, the spread (max − min, in seconds and as a share of the
median: how much a busy machine moved each framework's epoch), the interquartile range of the rounds
(the same without the one or two rounds a burst hit hardest) and the median (and range) of the
per-round ratios shendu / PyTorch. The CPU-time ratio (``time.process_time``) is far less sensitive
to other jobs on a shared machine; it compares work done only with ``--threads 1`` (idle BLAS
threads spin, and their spinning is CPU time too).

Other tables: Keras ``fit`` against the raw shendu loop on the same model (at least
``--keras-rounds`` rounds, and more until each side has run ``--keras-seconds``); ``predict`` latency at
batch 1 and 32 (p50, p99 of wall time, eval mode, no_grad, the calls alternating between the
frameworks; the last column is the ratio of the median process CPU time per call, less sensitive to
other jobs); peak memory of a few training steps measured in a fresh subprocess per framework (Linux
VmHWM minus the resident size after a warm-up step, and minus the resident size before the first
step); a scaling table of the MLP train step at batch 1..512 and width ×1, ×4. ``--only-predict``
prints the predict table alone. ``--load K`` runs K bursty busy processes alongside, to compare how
each framework bears a shared machine.
"""
import argparse
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

BATCH = {"mlp": 128, "cnn": 32, "bn_cnn": 64, "lstm": 64, "gru": 64, "resnet": 64}


# ----- the models, written once -----------------------------------------------------------------
def build(fw, name, width=1):
    nn = fw.nn
    F = nn.functional
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512 * width), nn.ReLU(), nn.Linear(512 * width, 10))
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))
    if name == "bn_cnn":
        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
        return nn.Sequential(*block(1, 32), *block(32, 32), nn.MaxPool2d(2), nn.Dropout(0.25),
                             *block(32, 64), *block(64, 64), nn.MaxPool2d(2), nn.Dropout(0.25),
                             nn.Flatten(), nn.Linear(64 * 7 * 7, 256, bias=False), nn.BatchNorm1d(256),
                             nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))
    if name in ("lstm", "gru"):
        cell = nn.LSTM if name == "lstm" else nn.GRU

        class RowRNN(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = cell(28, 128, batch_first=True)
                self.fc = nn.Linear(128, 10)

            def forward(self, x):
                out, _ = self.rnn(x.reshape(x.shape[0], 28, 28))
                return self.fc(out[:, -1])
        return RowRNN()
    if name == "resnet":
        class Block(nn.Module):
            def __init__(self, cin, cout, stride):
                super().__init__()
                self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
                self.b1 = nn.BatchNorm2d(cout)
                self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
                self.b2 = nn.BatchNorm2d(cout)
                self.short = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                              if stride != 1 or cin != cout else nn.Identity())

            def forward(self, x):
                h = F.relu(self.b1(self.c1(x)))
                return F.relu(self.b2(self.c2(h)) + self.short(x))

        return nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                             Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    raise ValueError(f"bench_epochs: unknown model {name!r}")


def augment(xb, rng):
    """Random crop (padding 2) + horizontal flip of an (N, 1, 28, 28) batch, in NumPy (same for both)."""
    n = len(xb)
    pad = np.pad(xb, ((0, 0), (0, 0), (2, 2), (2, 2)))
    dy, dx = rng.integers(0, 5, 2)
    out = pad[:, :, dy:dy + 28, dx:dx + 28]
    flip = rng.random(n) < 0.5
    out = np.where(flip[:, None, None, None], out[..., ::-1], out)
    return np.ascontiguousarray(out, dtype=np.float32)


def epoch(fw, model, opt, x, y, perm, bs, aug_rng=None):
    """One PyTorch-style epoch; x, y, perm are framework tensors (or NumPy x when augmenting)."""
    F = fw.nn.functional
    model.train()
    n = len(perm)
    for i in range(0, n, bs):
        idx = perm[i:i + bs]
        xb = x[idx] if aug_rng is None else fw.from_numpy(augment(x[idx.numpy()], aug_rng))
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), y[idx])
        loss.backward()
        opt.step()
    return float(loss.item())


def copy_weights(tmodel, smodel):
    tsd = tmodel.state_dict()
    ssd = smodel.state_dict()
    assert list(tsd) == list(ssd), (list(tsd)[:5], list(ssd)[:5])
    smodel.load_state_dict({k: v.detach().numpy().copy() for k, v in tsd.items()})


# ----- setup ---------------------------------------------------------------------------------------
def blas_threads():
    try:
        import threadpoolctl

        info = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        return max(i["num_threads"] for i in info) if info else os.cpu_count()
    except ImportError:
        return os.cpu_count()


def load(limit):
    from shendu.data.datasets import fashion_mnist

    (x, y), _ = fashion_mnist()
    x = (x[:limit].astype(np.float32) / 255.0)[:, None]
    return np.ascontiguousarray(x), y[:limit].astype(np.int64)


def frameworks(threads=None):
    import torch

    import shendu

    if threads:
        import threadpoolctl

        threadpoolctl.threadpool_limits(threads, user_api="blas")
    torch.set_num_threads(threads or blas_threads())
    return {"torch": torch, "shendu": shendu}


def make_pair(fws, name, width=1, seed=0):
    torch, sd = fws["torch"], fws["shendu"]
    torch.manual_seed(seed)
    sd.manual_seed(seed)                 # dropout masks: the loss column repeats from run to run
    tm = build(torch, name, width)
    sm = build(sd, name, width)
    copy_weights(tm, sm)
    return {"torch": tm, "shendu": sm}


def run_epochs(fws, name, x, y, rounds, seed=0):
    models = make_pair(fws, name)
    bs = BATCH[name]
    rng = np.random.default_rng(seed)
    times = {"torch": [], "shendu": []}
    cpu = {"torch": [], "shendu": []}
    losses = {}
    state = {}
    for k, fw in fws.items():
        opt = fw.optim.Adam(models[k].parameters(), lr=1e-3)
        state[k] = (fw.from_numpy(x), fw.from_numpy(y), opt)
    for r in range(rounds):
        perm = rng.permutation(len(x)).astype(np.int64)
        order = ("shendu", "torch") if r % 2 == 0 else ("torch", "shendu")
        for k in order:
            fw = fws[k]
            xt, yt, opt = state[k]
            aug = np.random.default_rng(seed + r) if name == "bn_cnn" else None
            t0, c0 = time.perf_counter(), time.process_time()
            data = x if aug is not None else xt
            losses[k] = epoch(fw, models[k], opt, data, yt, fw.from_numpy(perm), bs, aug)
            times[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
    return times, losses, cpu


def spread(ts):
    return f"{min(ts):.2f}–{max(ts):.2f} s"


def round_spread(ts):
    """The spread of the rounds: max − min in seconds, and as a share of the median."""
    return f"{max(ts) - min(ts):.3f} s ({(max(ts) - min(ts)) / float(np.median(ts)):.0%})"


def round_iqr(ts):
    """The interquartile range of the rounds in seconds: how far a typical round is from another,
    where max − min is set by the one round a busy machine hit hardest."""
    q1, q3 = np.percentile(ts, [25, 75])
    return f"{q3 - q1:.3f} s"


# ----- Keras fit vs the raw loop -------------------------------------------------------------------
def keras_vs_raw(fws, x, y, rounds, names=("mlp", "cnn"), seconds=0.0):
    """Keras ``fit`` (loss + "accuracy" metric, shuffle, verbose=0) against the raw ``epoch`` loop (loss only)
    on the same architecture; returns (name, fit times, raw times, fit CPU times, raw CPU times) rows.
    At least ``rounds`` rounds, and more (up to 10x) until each side has run ``seconds`` in all: a
    short epoch's ratio needs more rounds for the same precision of its median."""
    sd = fws["shendu"]
    from shendu.keras import Sequential, layers, losses

    rows = []
    for name, bs in (("mlp", 128), ("cnn", 32)):
        if name not in names:
            continue
        if name == "mlp":
            km = Sequential([layers.Input((1, 28, 28)), layers.Flatten(),
                             layers.Dense(512, activation="relu"), layers.Dense(10)])
            xk = x
        else:
            km = Sequential([layers.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                             layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
                             layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.5), layers.Dense(10)])
            xk = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        km.compile(optimizer="adam", loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                   metrics=["accuracy"])
        raw = build(sd, name)
        opt = sd.optim.Adam(raw.parameters(), lr=1e-3)
        xt, yt = sd.from_numpy(x), sd.from_numpy(y)
        tk, tr, ck, cr = [], [], [], []
        rng = np.random.default_rng(0)
        r = 0
        while r < rounds or (min(sum(tk), sum(tr)) < seconds and r < 10 * rounds):
            r += 1
            perm = sd.from_numpy(rng.permutation(len(x)).astype(np.int64))
            for which in (("k", "r") if r % 2 == 0 else ("r", "k")):
                t0, c0 = time.perf_counter(), time.process_time()
                if which == "k":
                    km.fit(xk, y, batch_size=bs, epochs=1, verbose=0, shuffle=True)
                    tk.append(time.perf_counter() - t0)
                    ck.append(time.process_time() - c0)
                else:
                    epoch(sd, raw, opt, xt, yt, perm, bs)
                    tr.append(time.perf_counter() - t0)
                    cr.append(time.process_time() - c0)
        rows.append((name, tk, tr, ck, cr))
    return rows


# ----- a busy machine on purpose --------------------------------------------------------------------
_LOAD = """
import random, sys, time
rng = random.Random(int(sys.argv[1]))
while True:
    end = time.perf_counter() + rng.uniform(0.005, 0.05)
    while time.perf_counter() < end:
        pass
    time.sleep(rng.uniform(0.005, 0.05))
"""


def start_load(k):
    """``k`` processes that each keep a core busy in bursts of 5–50 ms with pauses of 5–50 ms (seeded):
    other jobs on a shared machine, the same for both frameworks, so that how much each one slows and
    how far its rounds spread can be compared on purpose rather than by the luck of the day."""
    import atexit

    procs = [subprocess.Popen([sys.executable, "-c", _LOAD, str(i)]) for i in range(k)]
    atexit.register(lambda: [proc.kill() for proc in procs])
    return procs


# ----- predict latency -----------------------------------------------------------------------------
def predict_latency(fws, name, batch, reps):
    """p50 and p99 wall time per call (ms) and the p50 of process CPU time per call, per framework."""
    models = make_pair(fws, name)
    rng = np.random.default_rng(1)
    xb = rng.random((batch, 1, 28, 28), dtype=np.float32)
    out = {}
    order = ["shendu", "torch"]
    lat = {k: [] for k in order}
    cpu = {k: [] for k in order}
    inputs = {k: fws[k].from_numpy(xb) for k in order}
    for k in order:
        models[k].eval()
    wall, proc = time.perf_counter, time.process_time
    for i in range(reps + 10):
        for k in (order if i % 2 == 0 else order[::-1]):
            fw = fws[k]
            c0, t0 = proc(), wall()
            with fw.no_grad():
                models[k](inputs[k])
            t1, c1 = wall(), proc()
            if i >= 10:
                lat[k].append(t1 - t0)
                cpu[k].append(c1 - c0)
    for k in order:
        a = np.array(lat[k]) * 1e3
        out[k] = (float(np.percentile(a, 50)), float(np.percentile(a, 99)), float(np.median(cpu[k])) * 1e3)
    return out


# ----- peak memory (fresh subprocess per framework) ------------------------------------------------
def _rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def warm_compiled(sd):
    """Load (compile or read from cache) shendu's optional compiled kernels before anything is timed or
    measured, as PyTorch's own libraries are loaded before its baseline: the recurrent kernels, then the
    conv-side ones (BatchNorm, max-pool) and the Adam update through one tiny training step. Returns
    the status line."""
    from shendu.ops.rnn import compiled_status

    status = compiled_status(warm_up=True)
    warm = sd.nn.Sequential(sd.nn.Conv2d(1, 2, 3), sd.nn.BatchNorm2d(2), sd.nn.ReLU(), sd.nn.MaxPool2d(2))
    warm(sd.from_numpy(np.zeros((2, 1, 8, 8), np.float32))).sum().backward()
    sd.optim.Adam(warm.parameters()).step()                  # the one-pass Adam update
    return status


def memory_child(framework, name, steps):
    fws = frameworks()
    fw = fws[framework]
    if framework == "shendu":
        warm_compiled(fw)
    models = make_pair(fws, name)
    model = models[framework]
    x, y = load(BATCH[name] * steps)
    xt, yt = fw.from_numpy(x), fw.from_numpy(y)
    opt = fw.optim.Adam(model.parameters(), lr=1e-3)
    perm = fw.from_numpy(np.arange(len(x), dtype=np.int64))
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    first = _rss_kib("VmRSS")
    epoch(fw, model, opt, xt, yt, perm[:BATCH[name]], BATCH[name])     # warm-up: allocates optimizer state
    hwm_first = _rss_kib("VmHWM")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _rss_kib("VmRSS")
    epoch(fw, model, opt, xt, yt, perm, BATCH[name])
    hwm = _rss_kib("VmHWM")
    # growth over the warm-up step's footprint, and the whole peak over the resident size before any
    # training step (one step's working set plus the optimizer state, allocator caching included)
    print((hwm - before) / 1024.0, (max(hwm, hwm_first) - first) / 1024.0)


def measure_memory(framework, name, steps=8):
    out = subprocess.run([sys.executable, __file__, "--memory-child", framework, name, str(steps)],
                         capture_output=True, text=True, check=True)
    return [float(v) for v in out.stdout.strip().splitlines()[-1].split()]


# ----- scaling table --------------------------------------------------------------------------------
def scaling(fws, reps):
    rows = []
    for width in (1, 4):
        for batch in (1, 8, 32, 128, 512):
            models = make_pair(fws, "mlp", width)
            rng = np.random.default_rng(2)
            xb = rng.random((batch, 1, 28, 28), dtype=np.float32)
            yb = rng.integers(0, 10, batch).astype(np.int64)
            res = {}
            for k, fw in fws.items():
                opt = fw.optim.Adam(models[k].parameters(), lr=1e-3)
                xt, yt = fw.from_numpy(xb), fw.from_numpy(yb)
                perm = fw.from_numpy(np.arange(batch, dtype=np.int64))
                epoch(fw, models[k], opt, xt, yt, perm, batch)
                ts = []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    epoch(fw, models[k], opt, xt, yt, perm, batch)
                    ts.append(time.perf_counter() - t0)
                res[k] = float(np.median(ts)) * 1e3
            rows.append((width, batch, res["torch"], res["shendu"]))
    return rows


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--memory-child":
        memory_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--limit", type=int, default=6000, help="training images per epoch")
    p.add_argument("--models", default="mlp,cnn,bn_cnn,lstm,gru,resnet")
    p.add_argument("--threads", type=int, default=0, help="threads for both (default: NumPy's BLAS count)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="epoch columns in wall time or process CPU time (use with --threads 1); "
                   "the CPU-time ratio column is printed either way")
    p.add_argument("--no-keras", action="store_true")
    p.add_argument("--only-keras", action="store_true", help="only the Keras fit vs raw loop table")
    p.add_argument("--keras-rounds", type=int, default=21,
                   help="rounds of the Keras table (at least --rounds): its epochs are short and a busy "
                   "machine moves one round by 10%%, so a 5%% target needs more of them")
    p.add_argument("--keras-seconds", type=float, default=10.0,
                   help="the Keras table runs more rounds (up to 10x) until each side has run this long")
    p.add_argument("--load", type=int, default=0,
                   help="run this many bursty busy processes alongside (a shared machine on purpose)")
    p.add_argument("--no-predict", action="store_true")
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--no-scaling", action="store_true")
    p.add_argument("--only-predict", action="store_true",
                   help="only the predict latency table (for those of mlp, cnn, lstm in --models)")
    p.add_argument("--predict-reps", type=int, default=200, help="timed batch-1 calls per framework")
    args = p.parse_args()
    if args.only_predict:
        args.no_keras = args.no_memory = args.no_scaling = True
        args.no_predict = False
    fws = frameworks(args.threads)
    torch = fws["torch"]
    t_start = time.perf_counter()
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"threads: torch {torch.get_num_threads()}, NumPy BLAS {blas_threads()}; "
          f"torch {torch.__version__}, numpy {np.__version__}")
    print(f"# command: python benchmarks/bench_epochs.py {' '.join(sys.argv[1:])}")

    t_jit = time.perf_counter()
    status = warm_compiled(fws["shendu"])
    print(f"# compiled kernels: {status}, ready in {time.perf_counter() - t_jit:.1f} s")
    from shendu import backend
    print(f"# float32 matrix products: {'oneDNN sgemm' if backend.onednn() else 'NumPy BLAS'}")
    x, y = load(args.limit)
    if args.load:
        start_load(args.load)
        print(f"# load: {args.load} other process(es), each busy in bursts of 5–50 ms with pauses of 5–50 ms")
    names = [m for m in args.models.split(",") if m]
    if args.only_keras:
        args.no_predict = args.no_memory = args.no_scaling = True
    skip_epochs = args.only_predict or args.only_keras
    if not skip_epochs:
        print(f"\n## Epochs ({args.limit} images, Adam 1e-3, {args.rounds} alternating rounds)\n")
        print("| model | batch | PyTorch | shendu | median ratio (min–max) | CPU-time ratio "
              "| spread PyTorch / shendu | IQR PyTorch / shendu | loss torch / shendu |")
        print("|---|---|---|---|---|---|---|---|---|")
    for name in ([] if skip_epochs else names):
        times, losses, cpu = run_epochs(fws, name, x, y, args.rounds)
        if args.clock == "cpu":  # the time columns and the median ratio in CPU time
            times = cpu
        ratios = np.array(times["shendu"]) / np.array(times["torch"])
        cpu_ratio = float(np.median(np.array(cpu["shendu"]) / np.array(cpu["torch"])))
        print(f"| {name} | {BATCH[name]} | {spread(times['torch'])} | {spread(times['shendu'])} | "
              f"{np.median(ratios):.2f} ({ratios.min():.2f}–{ratios.max():.2f}) | {cpu_ratio:.2f} | "
              f"{round_spread(times['torch'])} / {round_spread(times['shendu'])} | "
              f"{round_iqr(times['torch'])} / {round_iqr(times['shendu'])} | "
              f"{losses['torch']:.3f} / {losses['shendu']:.3f} |", flush=True)
    if not args.no_keras:
        print(f"\n## Keras fit vs the raw shendu loop (same architecture, at least "
              f"{max(args.rounds, args.keras_rounds)} alternating rounds and {args.keras_seconds:g} s "
              "a side)\n")
        print("| model | rounds | raw loop | Keras fit | median ratio (min–max) | CPU-time ratio (min–max) |")
        print("|---|---|---|---|---|---|")
        for name, tk, tr, ck, cr in keras_vs_raw(fws, x, y, max(args.rounds, args.keras_rounds), names,
                                                 args.keras_seconds):
            if args.clock == "cpu":
                tk, tr = ck, cr
            ratios = np.array(tk) / np.array(tr)
            cpu = np.array(ck) / np.array(cr)
            print(f"| {name} | {len(tk)} | {spread(tr)} | {spread(tk)} | {np.median(ratios):.2f} "
                  f"({ratios.min():.2f}–{ratios.max():.2f}) | {np.median(cpu):.2f} "
                  f"({cpu.min():.2f}–{cpu.max():.2f}) |", flush=True)
    if not args.no_predict:
        print("\n## predict latency (eval, no_grad), ms: p50 / p99\n")
        print("| model | batch | PyTorch | shendu | p50 ratio | CPU-time p50 ratio |")
        print("|---|---|---|---|---|---|")
        for name in [m for m in ("mlp", "cnn", "lstm") if not args.only_predict or m in names]:
            for batch in (1, 32):
                r = predict_latency(fws, name, batch, args.predict_reps if batch == 1 else 50)
                print(f"| {name} | {batch} | {r['torch'][0]:.3f} / {r['torch'][1]:.3f} | "
                      f"{r['shendu'][0]:.3f} / {r['shendu'][1]:.3f} | {r['shendu'][0] / r['torch'][0]:.2f} | "
                      f"{r['shendu'][2] / r['torch'][2]:.2f} |",
                      flush=True)
    if not args.no_memory:
        print("\n## Peak memory of 8 training steps (MiB of VmHWM: above the resident size after a warm-up "
              "step, and above the resident size before the first step)\n")
        print("| model | PyTorch after warm-up | shendu after warm-up | ratio | PyTorch whole | shendu whole "
              "| ratio |")
        print("|---|---|---|---|---|---|---|")
        for name in names:
            (mt, wt), (ms, ws) = measure_memory("torch", name), measure_memory("shendu", name)
            print(f"| {name} | {mt:.1f} | {ms:.1f} | {ms / max(mt, 1e-9):.2f} | {wt:.1f} | {ws:.1f} | "
                  f"{ws / max(wt, 1e-9):.2f} |", flush=True)
    if not args.no_scaling:
        print("\n## Scaling: MLP train step (ms, median of 20), Linear(784→512·w)→ReLU→Linear(→10)\n")
        print("| width | batch | PyTorch | shendu | ratio |")
        print("|---|---|---|---|---|")
        for width, batch, tt, ts in scaling(fws, 20):
            print(f"| ×{width} | {batch} | {tt:.3f} | {ts:.3f} | {ts / tt:.2f} |", flush=True)
    print(f"\n# wall time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
