"""Shrink a trained CNN three ways and compare: int8, 50% of the channels, 80% of the weights.

    python examples/compress_cnn.py                            # digits (shipped with shendu), seconds
    python examples/compress_cnn.py --dataset fashion_mnist --epochs 2 --limit 10000   # a few minutes
"""
import argparse
import os
import tempfile

import shendu as sd
from shendu import compress
from shendu.cli import build_model, load_dataset
from shendu.compress import prune


def accuracy(model, x, y):
    predict = model.predict if isinstance(model, compress.QuantizedSequential) else \
        (lambda a: model.predict(a, verbose=0))
    return float((predict(x).argmax(1) == y).mean())


def main(dataset="digits", epochs=10, limit=None, verbose=True):
    say = print if verbose else (lambda *a: None)
    (x, y), (xt, yt), classes, _ = load_dataset(dataset, limit)
    sd.manual_seed(0)
    model = build_model("cnn", x.shape[1:], len(classes))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, verbose=0)
    results = {"float32": accuracy(model, xt, yt)}

    # 1. int8: calibrate on 500 training images, save, compare the files
    q = compress.quantize(model, x[:500], method="percentile")
    folder = tempfile.mkdtemp()
    compress.save_quantized(q, os.path.join(folder, "int8.safetensors"))
    sd.save(compress.to_sequential(model), os.path.join(folder, "float.safetensors"))
    ratio = os.path.getsize(os.path.join(folder, "int8.safetensors")) / \
        os.path.getsize(os.path.join(folder, "float.safetensors"))
    results["int8"] = accuracy(q, xt, yt)

    def copy():
        m = build_model("cnn", x.shape[1:], len(classes))
        m.set_weights(model.get_weights())
        return m

    # 2. half of the channels removed, one epoch of fine-tuning
    small = copy()
    compress.prune_channels(small, 0.5)
    small.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    small.fit(x, y, epochs=1, verbose=0)
    results["50% channels"] = accuracy(small, xt, yt)

    # 3. 80% of the weights zeroed (one threshold for the whole model), one epoch, then made permanent
    sparse = copy()
    pairs = [(m, "weight") for m in sparse.modules() if isinstance(m, (sd.nn.Conv2d, sd.nn.Linear))]
    prune.global_unstructured(pairs, amount=0.8)
    sparse.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    sparse.fit(x, y, epochs=1, verbose=0)
    for m, name in pairs:
        prune.remove(m, name)
    results["80% weights"] = accuracy(sparse, xt, yt)

    say(f"int8 file: {ratio:.2f}x the float32 file")
    say(f"parameters: {model.count_params():,} -> {small.count_params():,} with 50% of the channels")
    for name, acc in results.items():
        say(f"{name:>14}: test accuracy {acc:.2%}")
    if verbose:
        compress.report(sparse)
    return results, ratio


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="digits", choices=("digits", "fashion_mnist", "mnist"))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    args = ap.parse_args()
    main(args.dataset, args.epochs, args.limit)
