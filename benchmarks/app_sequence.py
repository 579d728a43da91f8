"""Figures for the sequence-model applications (not a test): CharRNN, seq2seq, text, time series, speech.

    python benchmarks/app_sequence.py                   # about 10 minutes on two cores
    python benchmarks/app_sequence.py --only charrnn seq2seq --write

Each part runs the matching example under ``examples/`` and prints its figures; ``--write`` appends a table to
``benchmarks/RESULTS.md``. The CharRNN part trains the same LSTM in PyTorch (when installed) for the same
wall-clock budget as a reference.
"""
import argparse
import math
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))


def charrnn(budget_steps=300, seed=0):
    import charrnn_poems as ex

    start = time.perf_counter()
    model, history = ex.run(epochs=3, steps_per_epoch=budget_steps // 3, seed=seed, verbose=False)
    seconds = time.perf_counter() - start
    row = {"shendu_val_perplexity": [round(h["val_perplexity"], 1) for h in history],
           "shendu_seconds": seconds}
    try:
        import torch
    except ImportError:
        return row
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    train_text, val_text = ex.poem_corpus(seed)
    chars = model.chars
    index = {c: i for i, c in enumerate(chars)}
    tr = np.array([index[c] for c in train_text])
    va = np.array([index[c] for c in val_text])

    class TorchCharRNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(len(chars), 64)
            self.rnn = torch.nn.LSTM(64, 128, batch_first=True)
            self.head = torch.nn.Linear(128, len(chars))

        def forward(self, x):
            return self.head(self.rnn(self.embedding(x))[0])

    m = TorchCharRNN()
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    rng = np.random.default_rng(seed)
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        for x, y in ex.batches(tr, 48, 32, rng):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(m(torch.tensor(x)).reshape(-1, len(chars)),
                                                     torch.tensor(y).reshape(-1))
            loss.backward()
            opt.step()
            steps += 1
            if time.perf_counter() - t0 >= seconds:
                break
    with torch.no_grad():
        n = (len(va) - 1) // 64
        x = torch.tensor(va[: n * 64].reshape(n, 64))
        y = torch.tensor(va[1: n * 64 + 1].reshape(n, 64))
        ce = torch.nn.functional.cross_entropy(m(x).reshape(-1, len(chars)), y.reshape(-1)).item()
    row.update(torch_val_perplexity=round(math.exp(ce), 1), torch_steps_in_same_time=steps,
               shendu_steps=budget_steps // 3 * 3)
    return row


def seq2seq(seed=0):
    import seq2seq_numerals as ex

    fwd = ex.run(seed=seed, verbose=False)
    back = ex.run(seed=seed, reverse=True, verbose=False)
    return {"arabic_to_chinese": fwd, "chinese_to_arabic": back}


def fortunes(seed=0):
    import fortunes_classifier as ex

    return ex.run(seed=seed, verbose=0)


def forecast(seed=0):
    import forecast_sunspots as ex

    return ex.run(seed=seed, verbose=False)


def speech(seed=0):
    import spoken_commands as ex

    return ex.run(seed=seed, verbose=False)


PARTS = {"charrnn": charrnn, "seq2seq": seq2seq, "fortunes": fortunes, "forecast": forecast, "speech": speech}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=sorted(PARTS), default=sorted(PARTS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", action="store_true", help="append the figures to benchmarks/RESULTS.md")
    a = p.parse_args()
    lines = [f"\n## Sequence applications (`python benchmarks/app_sequence.py --only {' '.join(a.only)}`)\n",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
             f"seed {a.seed}.\n"]
    for name in a.only:
        start = time.perf_counter()
        result = PARTS[name](seed=a.seed)
        wall = time.perf_counter() - start
        line = f"- **{name}** ({wall:.0f} s): {result}"
        print(line, flush=True)
        lines.append(line)
    if a.write:
        with open(os.path.join(HERE, "RESULTS.md"), "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
