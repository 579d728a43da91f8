"""Train a character LSTM on the Three Hundred Tang Poems and write poems, acrostics (藏头诗) included.

    python examples/charrnn_poems.py                    # a few minutes on two cores
    python examples/charrnn_poems.py --epochs 30 --hidden 256 --acrostic 春夏秋冬

Needs Debian's fortunes-zh (``apt-get install fortunes-zh``). Prints the validation perplexity
``exp(mean cross-entropy per character)`` each epoch, then samples.
"""
import argparse
import math
import time

import numpy as np

import shendu as sd
import shendu.nn.functional as F
from shendu import optim
from shendu.data.datasets import tang_poems
from shendu.models import CharRNN


def poem_corpus(seed=0, val_fraction=0.1):
    """Training and validation text: whole poems (bodies), split by poem."""
    bodies = [p["body"] + "\n" for p in tang_poems()]
    order = np.random.default_rng(seed).permutation(len(bodies))
    n_val = max(1, int(len(bodies) * val_fraction))
    return "".join(bodies[i] for i in order[n_val:]), "".join(bodies[i] for i in order[:n_val])


def batches(ids, seq_len, batch_size, rng):
    """Random windows ``(x, y)``, y shifted by one character."""
    starts = rng.permutation(len(ids) - seq_len - 1)
    for i in range(0, len(starts) - batch_size + 1, batch_size):
        s = starts[i:i + batch_size, None] + np.arange(seq_len + 1)
        w = ids[s]
        yield w[:, :-1], w[:, 1:]


def perplexity(model, ids, seq_len=64):
    """``exp`` of the mean next-character cross-entropy over ``ids`` in consecutive windows."""
    model.eval()
    total, count = 0.0, 0
    with sd.no_grad():
        n = (len(ids) - 1) // seq_len
        x = ids[: n * seq_len].reshape(n, seq_len)
        y = ids[1: n * seq_len + 1].reshape(n, seq_len)
        logits = model(sd.tensor(x))
        total = float(F.cross_entropy(logits.reshape(-1, model.vocab_size), sd.tensor(y.reshape(-1)),
                                      reduction="sum").item())
        count = y.size
    model.train()
    return math.exp(total / count)


def run(epochs=3, hidden=128, seq_len=48, batch_size=32, lr=3e-3, seed=0, steps_per_epoch=None, verbose=True):
    sd.manual_seed(seed)
    train_text, val_text = poem_corpus(seed)
    model = CharRNN.from_text(train_text + val_text, embedding_dim=64, hidden_size=hidden, cell="lstm")
    train_ids, val_ids = model.encode(train_text), model.encode(val_text)
    opt = optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    history, start = [], time.perf_counter()
    for epoch in range(epochs):
        for step, (x, y) in enumerate(batches(train_ids, seq_len, batch_size, rng)):
            if steps_per_epoch and step >= steps_per_epoch:
                break
            opt.zero_grad()
            logits = model(sd.tensor(x)).reshape(-1, model.vocab_size)
            loss = F.cross_entropy(logits, sd.tensor(y.reshape(-1)))
            loss.backward()
            opt.step()
        ppl = perplexity(model, val_ids)
        history.append({"epoch": epoch + 1, "val_perplexity": ppl, "seconds": time.perf_counter() - start})
        if verbose:
            print(f"epoch {epoch + 1}: validation perplexity {ppl:.1f}  ({history[-1]['seconds']:.0f} s)")
    return model, history


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--steps-per-epoch", type=int, default=150, help="0: one pass over the poems")
    p.add_argument("--acrostic", default="春花秋月")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    model, _ = run(epochs=a.epochs, hidden=a.hidden, seed=a.seed, steps_per_epoch=a.steps_per_epoch or None)
    print(model.generate("白日", 48, temperature=0.8, top_k=20, seed=a.seed))
    print(model.acrostic(a.acrostic, line_length=7, temperature=0.8, top_k=20, seed=a.seed))
