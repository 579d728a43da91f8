"""Translate Arabic numerals into Chinese numerals (305 → 三百零五) and back with an attention seq2seq model.

    python examples/seq2seq_numerals.py                 # about half a minute
    python examples/seq2seq_numerals.py --reverse       # 三百零五 → 305
    python examples/seq2seq_numerals.py --train 20000 --epochs 10 --plot attention.png

Prints exact-match accuracy on held-out numbers with greedy and beam-search decoding, and can plot one
attention matrix (which source characters each output character looked at).
"""
import argparse
import time

import numpy as np

import shendu as sd
from shendu import optim
from shendu.data.datasets import chinese_numerals
from shendu.models import Seq2Seq


def run(train=6000, test=300, epochs=6, batch_size=64, hidden=96, beam=4, reverse=False, high=100000, seed=0,
        plot=None, verbose=True):
    sd.manual_seed(seed)
    src, tgt = chinese_numerals(train, 0, high, seed=seed)
    test_src, test_tgt = chinese_numerals(test, 0, high, seed=seed + 1000)
    if reverse:
        src, tgt, test_src, test_tgt = tgt, src, test_tgt, test_src
    seen = set(src)
    keep = [i for i, s in enumerate(test_src) if s not in seen]          # held out: numbers not trained on
    test_src, test_tgt = [test_src[i] for i in keep], [test_tgt[i] for i in keep]
    model = Seq2Seq("".join(sorted(set("".join(src + test_src)))),
                    "".join(sorted(set("".join(tgt + test_tgt)))), hidden_size=hidden)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for epoch in range(epochs):
        perm = rng.permutation(len(src))
        total = 0.0
        for i in range(0, len(src), batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad()
            loss = model.loss([src[j] for j in idx], [tgt[j] for j in idx])
            loss.backward()
            opt.step()
            total += float(loss.item()) * len(idx)
        if verbose:
            print(f"epoch {epoch + 1}: loss {total / len(src):.4f}  ({time.perf_counter() - start:.1f} s)")
    train_seconds = time.perf_counter() - start
    greedy = model.translate(test_src)
    beamed = model.translate(test_src, beam_size=beam)
    result = {"greedy_exact_match": float(np.mean([g == t for g, t in zip(greedy, test_tgt)])),
              "beam_exact_match": float(np.mean([b == t for b, t in zip(beamed, test_tgt)])),
              "test_pairs": len(test_src), "train_seconds": train_seconds}
    if verbose:
        for s, g, t in list(zip(test_src, greedy, test_tgt))[:5]:
            print(f"  {s} → {g}   ({'ok' if g == t else 'want ' + t})")
        print(f"exact match on {len(test_src)} held-out pairs: greedy {result['greedy_exact_match']:.3f}, "
              f"beam {beam} {result['beam_exact_match']:.3f}")
    if plot:
        plot_attention(model, test_src[0], plot)
    return result


def plot_attention(model, source, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (text,), (alpha,) = model.translate([source], return_attention=True)
    fig, ax = plt.subplots(figsize=(1 + 0.5 * len(source), 1 + 0.5 * len(alpha)))
    ax.imshow(alpha, cmap="Greys", vmin=0, vmax=1)
    ax.set_xticks(range(len(source)), list(source))
    ax.set_yticks(range(len(alpha)), list(text) + ["</s>"] * (len(alpha) - len(text)))
    from matplotlib import font_manager

    cjk = [f.name for f in font_manager.fontManager.ttflist
           if any(k in f.name for k in ("WenQuanYi", "Noto Sans CJK", "Noto Serif CJK", "AR PL"))]
    for label in ax.get_yticklabels() + ax.get_xticklabels():
        label.set_fontfamily(cjk[:1] + ["DejaVu Sans"])     # Chinese glyphs need a CJK font
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", type=int, default=6000)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--beam", type=int, default=4)
    p.add_argument("--reverse", action="store_true", help="Chinese numerals → Arabic numerals")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default=None, help="save one attention matrix as a PNG here")
    a = p.parse_args()
    run(train=a.train, epochs=a.epochs, beam=a.beam, reverse=a.reverse, seed=a.seed, plot=a.plot)
