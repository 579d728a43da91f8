"""Accuracy targets, trained with shendu alone. Not a test: results go to benchmarks/RESULTS.md.

    python benchmarks/accuracy.py                      # every case
    python benchmarks/accuracy.py --only digits mlp    # some of them
    python benchmarks/accuracy.py --epochs-scale 0.2   # a quick smoke run (targets will not be met)

Cases and targets (test accuracy):
  digits    small CNN on scikit-learn's 8x8 digits               >= 97%
  mlp       Fashion-MNIST MLP 784-512-10, 5 epochs               >= 88.5%
  cnn       Fashion-MNIST seed CNN (2 conv/pool blocks), 10 ep.  >= 91%
  bn_cnn    Fashion-MNIST CNN + BatchNorm + Dropout + augmentation >= 93%
  mnist1d   MNIST-1D CNN (Greydanus 2020 reports 94%)            >= 90%

The loop is the plain PyTorch one (DataLoader, model, loss, backward, step), written with
``shendu`` imports, so this file also shows that such code runs unchanged.
"""
import argparse
import datetime
import os
import platform
import time

import numpy as np

import shendu as sd
import shendu.nn as nn
import shendu.nn.functional as F
import shendu.optim as optim
from shendu.data import DataLoader, TensorDataset, datasets, transforms

SEED = 0


def fashion(flat=False):
    (x, y), (xt, yt) = datasets.fashion_mnist()
    x, xt = x.astype(np.float32) / 255.0, xt.astype(np.float32) / 255.0
    if flat:
        return (x.reshape(len(x), -1), y), (xt.reshape(len(xt), -1), yt)
    return (x[:, None], y), (xt[:, None], yt)


def evaluate(model, x, y, batch_size=1000):
    model.eval()
    correct = 0
    with sd.no_grad():
        for i in range(0, len(x), batch_size):
            out = model(sd.tensor(x[i:i + batch_size]))
            correct += int((out.numpy().argmax(1) == y[i:i + batch_size]).sum())
    return correct / len(x)


def fit(model, data, epochs, lr=1e-3, batch_size=32, transform=None, scheduler=None, log=print):
    (x, y), (xt, yt) = data
    loader = DataLoader(TensorDataset(x, y.astype(np.int64)), batch_size=batch_size, shuffle=True,
                        transform=transform)
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = scheduler(opt, len(loader) * epochs) if scheduler else None
    for epoch in range(epochs):
        model.train()
        t0, total, n = time.perf_counter(), 0.0, 0
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched:
                sched.step()
            total += loss.item() * len(yb)
            n += len(yb)
        acc = evaluate(model, xt, yt)
        log(f"  epoch {epoch + 1}/{epochs}: loss {total / n:.4f}, test accuracy {acc:.4f} "
            f"({time.perf_counter() - t0:.0f}s)")
    return evaluate(model, xt, yt)


def case_digits(scale):
    """The seed CNN's two conv/pool blocks ('same' padding for 8x8 images) on scikit-learn's digits."""
    (x, y), (xt, yt) = datasets.digits()  # already scaled to [0, 1]
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 2 * 2, 10),
    )
    epochs = max(1, round(20 * scale))

    def cosine(opt, steps):
        return optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)

    acc = fit(model, ((x[:, None], y), (xt[:, None], yt)), epochs=epochs, scheduler=cosine)
    return acc, 0.97, (f"CNN Conv(32)-pool-Conv(64)-pool-Linear ('same'), Adam 1e-3 with cosine decay, "
                       f"batch 32, {epochs} epochs")


def case_mlp(scale):
    """The Keras tutorial's MLP, written with the Keras API exactly as the tutorial does."""
    from shendu.keras import Sequential, layers

    (x, y), (xt, yt) = fashion(flat=True)
    model = Sequential([layers.Dense(512, activation="relu", input_shape=(784,)),
                        layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=max(1, round(5 * scale)), batch_size=32, verbose=2)
    acc = model.evaluate(xt, yt, verbose=0)[1]
    return acc, 0.885, "Keras API: Dense(512, relu) + Dense(10, softmax), adam, batch 32, 5 epochs"


def seed_cnn():
    """The Keras example's convnet (mnist_convnet), in PyTorch style."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
    )


def case_cnn(scale):
    acc = fit(seed_cnn(), fashion(), epochs=max(1, round(10 * scale)))
    return acc, 0.91, "Conv(32)-pool-Conv(64)-pool-Dropout(0.5)-Linear, Adam 1e-3, batch 32, 10 epochs"


def case_bn_cnn(scale):
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    model = nn.Sequential(
        *block(1, 32), *block(32, 32), nn.MaxPool2d(2), nn.Dropout(0.25),
        *block(32, 64), *block(64, 64), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 256, bias=False), nn.BatchNorm1d(256), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(256, 10),
    )
    aug = transforms.Compose([transforms.RandomCrop(28, padding=2), transforms.RandomHorizontalFlip()])
    epochs = max(1, round(12 * scale))

    def one_cycle(opt, steps):
        return optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)

    acc = fit(model, fashion(), epochs=epochs, batch_size=64, transform=aug, scheduler=one_cycle)
    return acc, 0.93, (f"2x(Conv-BN-ReLU)x2 blocks 32/64 + Dropout, Linear 256 + BN, crop+flip augmentation, "
                       f"Adam + OneCycle(3e-3), batch 64, {epochs} epochs")


def case_mnist1d(scale):
    (x, y), (xt, yt) = datasets.mnist1d()
    data = ((x[:, None].astype(np.float32), y), (xt[:, None].astype(np.float32), yt))
    model = nn.Sequential(
        nn.Conv1d(1, 25, 5, stride=2, padding=1), nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(25 * 5, 10),
    )
    epochs = max(1, round(100 * scale))
    acc = fit(model, data, epochs=epochs, lr=1e-2, batch_size=100)
    return acc, 0.90, f"the paper's CNN (3 strided Conv1d, 25 ch.), Adam 1e-2, batch 100, {epochs} epochs"


CASES = {"digits": case_digits, "mlp": case_mlp, "cnn": case_cnn, "bn_cnn": case_bn_cnn,
         "mnist1d": case_mnist1d}


def main():
    p = argparse.ArgumentParser(description="shendu accuracy targets")
    p.add_argument("--only", nargs="*", choices=sorted(CASES), default=list(CASES))
    p.add_argument("--epochs-scale", type=float, default=1.0)
    p.add_argument("--results", default=os.path.join(os.path.dirname(__file__), "RESULTS.md"))
    args = p.parse_args()
    rows = []
    for name in args.only:
        sd.manual_seed(SEED)
        print(f"[{name}]")
        t0 = time.perf_counter()
        acc, target, what = CASES[name](args.epochs_scale)
        secs = time.perf_counter() - t0
        verdict = "met" if acc >= target else "MISSED"
        print(f"[{name}] test accuracy {acc:.4f} (target {target:.3f}: {verdict}) in {secs:.0f}s")
        rows.append((name, acc, target, verdict, secs, what))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"\n## accuracy.py run, {stamp}\n",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
             f"numpy {np.__version__}; seed {SEED}; epochs scale {args.epochs_scale}; "
             f"command: `python benchmarks/accuracy.py --only {' '.join(args.only)}`\n",
             "| case | test accuracy | target | | time | setup |", "|---|---|---|---|---|---|"]
    lines += [f"| {n} | {a:.4f} | {t:.3f} | {v} | {s:.0f}s | {w} |" for n, a, t, v, s, w in rows]
    with open(args.results, "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"results appended to {args.results}")


if __name__ == "__main__":
    main()
