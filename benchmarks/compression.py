"""Compression of the Fashion-MNIST seed CNN: int8, ONNX QDQ, structured and unstructured pruning.

    python benchmarks/compression.py                    # 10,000 training images, 2 epochs (~5 minutes)
    python benchmarks/compression.py --limit 0 --epochs 5   # all 60,000 images (~25 minutes)
    python benchmarks/compression.py --write            # append the figures to benchmarks/RESULTS.md

Needs the Fashion-MNIST files (apt-get install dataset-fashion-mnist); onnxruntime for the QDQ row.
The model is the seed CNN of ``shendu demo`` (Keras style: Conv2D 32 → pool → Conv2D 64 → pool →
Dense 10, 34,826 parameters), trained with ``fit``. Targets (test accuracy, first --test images):
  int8 (per-channel weights, min-max / percentile activations)  loses <= 1 point; file <= 0.3x float32
  onnxruntime on the QDQ file                                     the same accuracy as shendu's int8
  50% structured channel pruning + 1 epoch fine-tune              params <= 0.5x, loses <= 1 point
  80% global unstructured pruning + 1 epoch fine-tune             loses <= 1.5 points
"""
import argparse
import datetime
import os
import platform
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

import shendu as sd  # noqa: E402
from shendu import compress  # noqa: E402
from shendu.cli import build_model, load_dataset  # noqa: E402
from shendu.compress import prune  # noqa: E402


def accuracy(predict, x, y, batch=500):
    out = np.concatenate([predict(x[i:i + batch]) for i in range(0, len(x), batch)])
    return float((out.argmax(1) == y).mean())


def timed(fn, *args, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t)
    return best


def compile_(model):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=10_000, help="training images (0: all 60,000)")
    ap.add_argument("--test", type=int, default=5_000, help="test images used for accuracy")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--calibration", type=int, default=1000, help="calibration images (from training)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = ap.parse_args()
    t_start = time.perf_counter()
    (x, y), (xt, yt), _, _ = load_dataset("fashion_mnist")
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    xt, yt = xt[:args.test], yt[:args.test]
    sd.manual_seed(args.seed)
    np.random.seed(args.seed)
    model = build_model("cnn", x.shape[1:], 10)
    compile_(model)
    t = time.perf_counter()
    model.fit(x, y, batch_size=32, epochs=args.epochs, verbose=0)
    t_train = time.perf_counter() - t
    predict = lambda a: model.predict(a, verbose=0)  # noqa: E731
    base = accuracy(predict, xt, yt)
    rows = [("float32 (trained)", base, None, None)]
    tmp = tempfile.mkdtemp()
    fpath = os.path.join(tmp, "float.safetensors")
    sd.save(compress.to_sequential(model), fpath)
    float_bytes = os.path.getsize(fpath)
    calib = x[:args.calibration]
    lines = []
    for method in ("minmax", "percentile"):
        q = compress.quantize(model, calib, method=method)
        qpath = os.path.join(tmp, f"int8_{method}.safetensors")
        compress.save_quantized(q, qpath)
        acc = accuracy(q.predict, xt, yt)
        rows.append((f"int8, {q.calibration}", acc, os.path.getsize(qpath) / float_bytes, None))
        if method == "minmax":
            q_main = q
    # ONNX QDQ
    try:
        import onnxruntime as ort

        opath = os.path.join(tmp, "int8.onnx")
        compress.export_qdq(q_main, opath, x.shape[1:])
        sess = ort.InferenceSession(opath, providers=["CPUExecutionProvider"])
        run = lambda a: sess.run(None, {"input": a})[0]  # noqa: E731
        rows.append(("int8 QDQ in onnxruntime", accuracy(run, xt, yt), os.path.getsize(opath) / float_bytes,
                     None))
        t_ort = timed(run, xt[:1000])
    except ImportError:
        t_ort = None
        lines.append("onnxruntime not installed: QDQ row skipped")
    # speed on 1,000 images (batch 1,000), best of 3
    q_int = compress.quantize(model, calib, accumulate="int32")
    lowered = compress.to_sequential(model)

    def float_nn(a):
        with sd.no_grad(), sd.nn.training_mode(False):
            return lowered(sd.tensor(a)).numpy()

    sample = xt[:1000]
    speed = {"float32 (Keras predict)": timed(lambda a: model.predict(a, batch_size=1000, verbose=0), sample),
             "float32 (the same layers as the int8 model)": timed(float_nn, sample),
             "int8, float32 accumulation": timed(q_main.predict, xt[:1000]),
             "int8, int32 accumulation": timed(q_int.predict, xt[:1000], repeat=1)}
    if t_ort is not None:
        speed["int8 QDQ in onnxruntime"] = t_ort
    # 50% structured + 1 epoch
    params0 = compress.report(model, print_fn=False)["params"]
    small = build_model("cnn", x.shape[1:], 10)
    small.set_weights(model.get_weights())
    compress.prune_channels(small, 0.5)
    before_ft = accuracy(lambda a: small.predict(a, verbose=0), xt, yt)
    compile_(small)
    t = time.perf_counter()
    small.fit(x, y, batch_size=32, epochs=1, verbose=0)
    t_small = time.perf_counter() - t
    params1 = compress.report(small, print_fn=False)["params"]
    ratio = params1 / params0
    rows.append((f"50% channels removed (no fine-tune), {params1:,} params", before_ft, None, ratio))
    rows.append(("50% channels removed + 1 epoch", accuracy(lambda a: small.predict(a, verbose=0), xt, yt),
                 None, ratio))
    # 80% global unstructured + 1 epoch (masks stay on while fine-tuning, then removed)
    sparse = build_model("cnn", x.shape[1:], 10)
    sparse.set_weights(model.get_weights())
    layers = [(m, "weight") for m in sparse.modules() if isinstance(m, (sd.nn.Conv2d, sd.nn.Linear))]
    prune.global_unstructured(layers, amount=0.8)
    before_ft = accuracy(lambda a: sparse.predict(a, verbose=0), xt, yt)
    compile_(sparse)
    sparse.fit(x, y, batch_size=32, epochs=1, verbose=0)
    for m, name in layers:
        prune.remove(m, name)
    table = compress.report(sparse, print_fn=False)
    rows.append(("80% weights zeroed (no fine-tune)", before_ft, None, None))
    rows.append((f"80% weights zeroed + 1 epoch ({table['sparsity']:.1%} zeros)",
                 accuracy(lambda a: sparse.predict(a, verbose=0), xt, yt), None, None))
    wall = time.perf_counter() - t_start

    out = []
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out.append(f"## Compression (benchmarks/compression.py), {stamp}\n")
    out.append(f"`python benchmarks/compression.py --limit {args.limit} --epochs {args.epochs} "
               f"--test {args.test} --seed {args.seed}`: the seed CNN trained with `fit` on {len(x):,} "
               f"Fashion-MNIST training images for {args.epochs} epoch(s) ({t_train:.0f} s), accuracy on "
               f"the first {len(xt):,} test images; calibration on {len(calib):,} training images. "
               f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), numpy {np.__version__}. "
               f"Wall time {wall:.0f} s.\n")
    out.append("| Model | Test accuracy | Δ points | File vs float32 | Params vs original |")
    out.append("|---|---|---|---|---|")
    for name, acc, size, params in rows:
        size = "" if size is None else f"{size:.3f}x"
        params = "" if params is None else f"{params:.3f}x"
        out.append(f"| {name} | {acc:.2%} | {100 * (acc - base):+.2f} | {size} | {params} |")
    out.append(f"\nfloat32 file: {float_bytes:,} bytes (`shendu.save` of the model); int8 file: the int8 "
               "weights, float32 per-channel scales and biases, and the structure. 50% structured "
               f"fine-tune epoch: {t_small:.0f} s (the full model: {t_train / args.epochs:.0f} s "
               "per epoch).\n")
    out.append("Inference time for 1,000 test images in one batch (best of 3; int32 accumulation: 1 run):\n")
    out.append("| Runtime | Seconds | vs float32 |")
    out.append("|---|---|---|")
    ref = speed["float32 (the same layers as the int8 model)"]
    for name, sec in speed.items():
        out.append(f"| {name} | {sec:.3f} | {sec / ref:.2f}x |")
    f32, i8 = speed["float32 (the same layers as the int8 model)"], speed["int8, float32 accumulation"]
    i32 = speed["int8, int32 accumulation"]
    out.append("\nNumPy has no int8 matrix kernels: shendu's int8 model stores int8 but computes its "
               "sums with float32 BLAS (exact below 2^24, float32 rounding above) plus the quantize and "
               f"dequantize steps, so it runs at {i8 / f32:.2f}x the time of the same float32 layers; exact "
               f"int32 sums with NumPy's integer matmul take {i32 / f32:.1f}x. In NumPy, int8 buys a 4x "
               "smaller file, not speed; for int8 speed, run the QDQ file in onnxruntime.\n")
    out += lines
    text = "\n".join(out)
    print(text)
    if args.write:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
