"""The ``shendu`` command line: ``shendu demo | train | evaluate | export | serve | info``.

``shendu demo`` is the main job: it trains the classic small CNN on Fashion-MNIST (or, when
those files are not installed, on scikit-learn's bundled digits) with Keras's progress bar, and
writes a run report (``report.html`` + ``metrics.json``).
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np

DATASETS = ("auto", "fashion_mnist", "mnist", "digits")
MODELS = ("cnn", "mlp")


def load_dataset(name, limit=None):
    """(x_train, y_train), (x_test, y_test), class names, resolved name; images as float32 NHWC in [0, 1]."""
    from .data import datasets

    if name == "auto":
        try:
            return load_dataset("fashion_mnist", limit)
        except FileNotFoundError:
            print("Fashion-MNIST files not found (apt-get install dataset-fashion-mnist); using digits.")
            return load_dataset("digits", limit)
    if name in ("fashion_mnist", "mnist"):
        (x, y), (xt, yt) = getattr(datasets, name)()
        classes = datasets.FASHION_MNIST_CLASSES if name == "fashion_mnist" else datasets.MNIST_CLASSES
        x, xt = x.astype(np.float32) / 255.0, xt.astype(np.float32) / 255.0
    elif name == "digits":
        (x, y), (xt, yt) = datasets.digits()
        classes = datasets.DIGITS_CLASSES
        x, xt = x.astype(np.float32), xt.astype(np.float32)  # already scaled to [0, 1]
    else:
        raise SystemExit(f"shendu: unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if limit:
        x, y, xt, yt = x[:limit], y[:limit], xt[: max(limit // 5, 1)], yt[: max(limit // 5, 1)]
    return (x[..., None], y), (xt[..., None], yt), list(classes), name


def build_model(kind, input_shape, n_classes):
    """The tutorials' models, in Keras style: the seed CNN (two conv/pool blocks) or a 512-unit MLP."""
    from .keras import Sequential, layers

    if kind == "mlp":
        return Sequential([
            layers.Flatten(input_shape=input_shape),
            layers.Dense(512, activation="relu"),
            layers.Dense(n_classes, activation="softmax"),
        ])
    pad = "same" if input_shape[0] < 16 else "valid"
    return Sequential([
        layers.Conv2D(32, 3, activation="relu", padding=pad, input_shape=input_shape),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu", padding=pad),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(n_classes, activation="softmax"),
    ])


def cmd_train(args, demo=False):
    import shendu as sd

    sd.manual_seed(args.seed)
    (x, y), (xt, yt), classes, name = load_dataset(args.dataset, args.limit)
    print(f"Data: {name}: {len(x)} training and {len(xt)} test images of shape {x.shape[1:]}, "
          f"{len(classes)} classes")
    model = build_model(args.model, x.shape[1:], len(classes))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    from .train import Report

    report = Report(args.report_dir, dataset=name, class_names=classes)
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, validation_data=(xt, yt),
              callbacks=[report], verbose=args.verbose)
    loss, acc = model.evaluate(xt, yt, verbose=0)
    print(f"Test accuracy: {acc:.4f} (loss {loss:.4f}) after {args.epochs} epoch(s) in "
          f"{time.perf_counter() - t0:.1f}s")
    print(f"Report: {os.path.join(args.report_dir, 'report.html')}")
    if args.save:
        model.save(args.save)
        print(f"Model saved to {args.save}")
    return 0


def cmd_evaluate(args):
    from .keras.models import load_model

    model = load_model(args.model_file)
    (_, _), (xt, yt), _, name = load_dataset(args.dataset, args.limit)
    loss, acc = model.evaluate(xt, yt, verbose=0)
    print(json.dumps({"dataset": name, "loss": round(float(loss), 6), "accuracy": round(float(acc), 6)}))
    return 0


def cmd_info(args):
    import shendu as sd

    print(f"shendu {sd.__version__}")
    print(f"python {platform.python_version()} on {platform.platform()}")
    print(f"numpy {np.__version__} (array backend: {sd.backend.xp.__name__})")
    for mod in ("torch", "safetensors", "matplotlib", "tqdm", "sklearn", "PIL", "mnist1d"):
        try:
            m = __import__(mod)
            print(f"{mod} {getattr(m, '__version__', '?')}")
        except ImportError:
            print(f"{mod} (not installed)")
    return 0


def cmd_later(args):
    print(f"shendu {args.command}: this command is not available in this version of shendu yet.",
          file=sys.stderr)
    return 2


def make_parser():
    p = argparse.ArgumentParser(prog="shendu", description="shendu: deep learning from the math up on NumPy.")
    sub = p.add_subparsers(dest="command", required=True)

    def training_args(sp, epochs, report):
        sp.add_argument("--dataset", choices=DATASETS, default="auto",
                        help="data set (auto: Fashion-MNIST when installed, else digits)")
        sp.add_argument("--model", choices=MODELS, default="cnn")
        sp.add_argument("--epochs", type=int, default=epochs)
        sp.add_argument("--batch-size", type=int, default=32)
        sp.add_argument("--seed", type=int, default=0)
        sp.add_argument("--limit", type=int, default=None, help="use only the first N training images")
        sp.add_argument("--report-dir", default=report)
        sp.add_argument("--save", default=None, help="save the trained model (.keras zip) here")
        sp.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))

    training_args(sub.add_parser("demo", help="train the seed CNN and write a report (the main job)"), 2,
                  os.path.join("runs", "demo"))
    training_args(sub.add_parser("train", help="train a model on a data set"), 5,
                  os.path.join("runs", "train"))
    ev = sub.add_parser("evaluate", help="evaluate a saved model on a data set's test split")
    ev.add_argument("model_file")
    ev.add_argument("--dataset", choices=DATASETS, default="auto")
    ev.add_argument("--limit", type=int, default=None)
    sub.add_parser("info", help="versions of shendu and its optional dependencies")
    sub.add_parser("export", help="export a model to ONNX (not yet available)")
    sub.add_parser("serve", help="serve a model over HTTP (not yet available)")
    return p


def main(argv=None):
    args = make_parser().parse_args(argv)
    handlers = {"demo": cmd_train, "train": cmd_train, "evaluate": cmd_evaluate, "info": cmd_info,
                "export": cmd_later, "serve": cmd_later}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
