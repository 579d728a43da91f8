"""The ``shendu`` command line: ``shendu demo | train | evaluate | export | serve | quantize | prune | info``.

``shendu demo`` is the main job: it trains the classic small CNN on a part of Fashion-MNIST (or,
when those files are not installed, on the digits data set shipped with shendu) with Keras's
progress bar, and writes a run report (``report.html`` + ``metrics.json``). It takes about two
minutes on a 2-core laptop; ``shendu demo --full`` trains on all 60,000 images (about 9 minutes).

Every mistake on the command line (a bad flag value, a missing or damaged model file, a model that
does not fit the data set, a ``--save`` or ``--report-dir`` that cannot be written) prints one line
on stderr and exits with status 2, before any training starts; Ctrl-C exits with status 130 after
writing the report of the epochs finished so far.

A model saved with ``--save`` remembers its data set and preprocessing in the ``metadata.json``
member of the ``.keras`` file (a JSON object: ``dataset``, ``preprocessing``, ``input_shape``,
``class_names``, ``shendu_version``), so ``shendu evaluate model.keras`` needs no ``--dataset``.
"""
import argparse
import contextlib
import inspect
import json
import os
import platform
import sys
import tempfile
import time
import zipfile

import numpy as np

from . import __version__

DATASETS = ("auto", "fashion_mnist", "mnist", "digits")
MODELS = ("cnn", "mlp")

# What ``shendu demo`` does unless told otherwise: (training images, epochs); None = all images.
DEMO_QUICK = {"fashion_mnist": (10_000, 2), "mnist": (10_000, 2), "digits": (None, 10)}
DEMO_FULL = {"fashion_mnist": (None, 2), "mnist": (None, 2), "digits": (None, 30)}
# How each data set's raw values become the model's input.
PREPROCESSING = {"fashion_mnist": "uint8 pixels / 255, NHWC (N, 28, 28, 1)",
                 "mnist": "uint8 pixels / 255, NHWC (N, 28, 28, 1)",
                 "digits": "pixel counts 0..16 / 16, NHWC (N, 8, 8, 1)"}


class CLIError(Exception):
    """A mistake the person at the command line can fix; printed as one line, exit status 2."""


def _first_line(exc):
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].rstrip(":")


def load_dataset(name, limit=None):
    """(x_train, y_train), (x_test, y_test), class names, resolved name; images as float32 NHWC in [0, 1].

    ``name`` "auto" is Fashion-MNIST when its files are installed, else digits. ``limit`` keeps the
    first ``limit`` training images and the first ``limit // 5`` test images.
    """
    return _limit(*_load(name), limit)


def _limit(train, test, classes, name, limit):
    (x, y), (xt, yt) = train, test
    if limit:
        x, y, xt, yt = x[:limit], y[:limit], xt[: max(limit // 5, 1)], yt[: max(limit // 5, 1)]
    return (x, y), (xt, yt), classes, name


def _load(name):
    from .data import datasets

    if name == "auto":
        try:
            return _load("fashion_mnist")
        except CLIError:
            print("Fashion-MNIST files not found (apt-get install dataset-fashion-mnist); using digits.")
            return _load("digits")
    try:
        if name in ("fashion_mnist", "mnist"):
            (x, y), (xt, yt) = getattr(datasets, name)()
            classes = datasets.FASHION_MNIST_CLASSES if name == "fashion_mnist" else datasets.MNIST_CLASSES
            x, xt = x.astype(np.float32) / 255.0, xt.astype(np.float32) / 255.0
        elif name == "digits":
            (x, y), (xt, yt) = datasets.digits()
            classes = datasets.DIGITS_CLASSES
            x, xt = x.astype(np.float32), xt.astype(np.float32)  # already scaled to [0, 1]
        else:
            raise CLIError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS[1:])}")
    except FileNotFoundError as exc:
        hint = {"fashion_mnist": "apt-get install dataset-fashion-mnist",
                "mnist": "apt-get install dataset-mnist"}.get(name, "see docs/data.md")
        raise CLIError(f"the {name} data set is not installed ({hint}; or use --dataset digits): "
                       f"{_first_line(exc)}") from None
    except ValueError as exc:  # DatasetFormatError: a damaged data file
        raise CLIError(f"the {name} data set cannot be read: {_first_line(exc)}") from None
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
    if kind != "cnn":
        raise CLIError(f"unknown model {kind!r}; choose one of {', '.join(MODELS)}")
    pad = "same" if input_shape[0] < 16 else "valid"
    return Sequential([
        layers.Conv2D(32, 3, activation="relu", padding=pad, input_shape=input_shape),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu", padding=pad),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(n_classes, activation="softmax"),
    ])


# ---- checks made before any training ---------------------------------------------------------------

def _check_writable_dir(path, flag):
    """Create the folder ``path`` if needed and prove a file can be written there."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise CLIError(f"{flag} {path}: exists and is not a folder")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise CLIError(f"{flag} {path}: cannot write there ({exc.strerror or exc})") from None


def _check_writable_file(path, flag):
    """Prove the file ``path`` can be written (its folder exists and is writable; it is not a folder)."""
    if os.path.isdir(path):
        raise CLIError(f"{flag} {path}: is a folder, expected a model file name such as model.keras")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"{flag} {path}: the folder {folder} does not exist")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise CLIError(f"{flag} {path}: the file exists and is not writable")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise CLIError(f"{flag} {path}: cannot write in {folder} ({exc.strerror or exc})") from None


def _check_fits(model, x, n_classes, what, name):
    """One-line error when ``model``'s input or output shape does not match the data set."""
    want = getattr(model, "input_shape", None)
    if isinstance(want, tuple) and len(want) == x.ndim and any(
            w is not None and w != g for w, g in zip(want[1:], x.shape[1:])):
        raise CLIError(f"{what} takes inputs of shape {tuple(want[1:])}, but the {name} data set has images "
                       f"of shape {x.shape[1:]}; pick the data set it was trained on with --dataset")
    out = getattr(model, "output_shape", None)
    if isinstance(out, tuple) and len(out) == 2 and out[1] is not None and out[1] < n_classes:
        raise CLIError(f"{what} has {out[1]} outputs, but the {name} data set has {n_classes} classes")


# ---- model file metadata -------------------------------------------------------------------------

def _save_model(model, path, metadata):
    """``model.save(path, metadata=...)``: the data set and preprocessing travel in the model file."""
    model.save(path, metadata=metadata)


def _model_metadata(path, model=None):
    """The metadata dict stored in the model file ``path`` ({} when it has none)."""
    meta = getattr(model, "metadata", None)
    if isinstance(meta, dict) and meta:
        return meta
    from .keras._saving import read_metadata

    try:
        meta = read_metadata(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise CLIError(f"{path}: the model file's metadata cannot be read ({_first_line(exc)})") from None
    return meta if isinstance(meta, dict) else {}


def _load_model(path):
    from .keras.models import load_model

    if not os.path.exists(path):
        raise CLIError(f"{path}: no such model file")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a folder, expected a model file saved with --save")
    try:
        return load_model(path)
    except (ValueError, OSError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        raise CLIError(f"{path}: cannot load the model ({_first_line(exc)})") from None


# ---- commands -------------------------------------------------------------------------------------

def _demo_plan(args, name):
    """(limit, epochs) for ``shendu demo``: the flags where given, else the quick (or --full) defaults."""
    limit, epochs = (DEMO_FULL if args.full else DEMO_QUICK).get(name, (None, 2))
    return (args.limit if args.limit is not None else limit,
            args.epochs if args.epochs is not None else epochs)


def cmd_train(args, demo=False):
    import shendu as sd

    # everything that can be wrong is checked before training starts
    _check_writable_dir(args.report_dir, "--report-dir")
    if args.save:
        _check_writable_file(args.save, "--save")
    data = _load(args.dataset)
    name = data[3]
    limit, epochs = _demo_plan(args, name) if demo else (args.limit, args.epochs)
    (x, y), (xt, yt), classes, name = _limit(*data, limit)
    sd.manual_seed(args.seed)
    if demo:
        size = "all" if limit is None or limit >= 60_000 else f"{len(x):,}"
        quick = "" if args.full else " (about two minutes on a 2-core laptop; --full for the longer run)"
        print(f"Demo: training the {args.model.upper()} on {size} {name} images for {epochs} epoch(s), "
              f"then writing a report to {args.report_dir}{quick}. Ctrl-C stops early and still "
              "writes the report.")
    print(f"Data: {name}: {len(x)} training and {len(xt)} test images of shape {x.shape[1:]}, "
          f"{len(classes)} classes")
    model = build_model(args.model, x.shape[1:], len(classes))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    from .train import Report

    extra = {}
    with contextlib.suppress(TypeError, ValueError):
        if "split_name" in inspect.signature(Report).parameters:
            extra["split_name"] = "test"  # validation_data below is the test split
    report = Report(args.report_dir, dataset=name, class_names=classes, **extra)
    t0 = time.perf_counter()
    try:
        history = model.fit(x, y, batch_size=args.batch_size, epochs=epochs, validation_data=(xt, yt),
                            callbacks=[report], verbose=args.verbose)
    except KeyboardInterrupt as exc:
        exc.shendu_note = _finish_report(report, args.report_dir)
        raise
    logs = getattr(history, "history", {}) or {}
    if logs.get("val_accuracy") and logs.get("val_loss"):
        loss, acc = logs["val_loss"][-1], logs["val_accuracy"][-1]
    else:
        loss, acc = model.evaluate(xt, yt, verbose=0)
    print(f"Test accuracy: {acc:.4f} (loss {loss:.4f}) after {epochs} epoch(s) in "
          f"{time.perf_counter() - t0:.1f}s")
    print(f"Report: {os.path.join(args.report_dir, 'report.html')}")
    if args.save:
        metadata = {"dataset": name, "preprocessing": PREPROCESSING.get(name),
                    "input_shape": list(x.shape[1:]), "class_names": list(classes), "model": args.model,
                    "epochs": epochs, "limit": limit,
                    "seed": args.seed, "shendu_version": __version__}
        _save_model(model, args.save, metadata)
        print(f"Model saved to {args.save}")
    return 0


def _finish_report(report, folder):
    """Write the report of the epochs finished before Ctrl-C (``Report.finish`` where it exists);
    returns what to tell the person."""
    finish = getattr(report, "finish", None)
    if not callable(finish):
        finish = report.on_train_end if getattr(report, "_t0", None) is not None else None
    if finish is None:
        return "no report: training had not started"
    try:
        finish()
    except Exception as exc:  # noqa: BLE001 - stopping must not end in a traceback
        return f"the report could not be written ({_first_line(exc)})"
    return (f"the report of the {len(report.epochs)} finished epoch(s) is in "
            f"{os.path.join(folder, 'report.html')}")


def cmd_evaluate(args):
    model = _load_model(args.model_file)
    meta = _model_metadata(args.model_file, model)
    name = args.dataset
    if name is None:
        name = meta.get("dataset")
        if name not in DATASETS[1:]:
            raise CLIError(f"{args.model_file}: the file does not say which data set it was trained on; "
                           "give it with --dataset")
    (_, _), (xt, yt), classes, name = load_dataset(name, args.limit)
    _check_fits(model, xt, len(classes), f"the model in {args.model_file}", name)
    try:
        loss, acc = model.evaluate(xt, yt, verbose=0)
    except (ValueError, RuntimeError) as exc:
        raise CLIError(f"the model in {args.model_file} does not fit the {name} data set: "
                       f"{_first_line(exc)}") from None
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
    raise CLIError("this command is not available in this version of shendu yet")


# ---- shendu quantize / shendu prune ---------------------------------------------------------------
# Model files are .keras files or shendu.save(module) files. Exit status 1: the model was read but
# cannot be compressed as asked (a layer these commands do not handle); one line, as for mistakes.

class CompressFailed(Exception):
    """The model was read but cannot be compressed as asked (exit status 1)."""


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction such as 0.5, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def add_compress_commands(sub, fmt):
    """Add the ``quantize`` and ``prune`` subcommands to the subparsers ``sub``."""
    q = sub.add_parser("quantize", formatter_class=fmt,
                       help="post-training int8 quantization (BatchNorm folded, calibrated activations)",
                       description="Quantize a model to int8 and write a smaller safetensors file "
                                   "(and, with --onnx, an ONNX QDQ file).")
    q.add_argument("model_file", help="a .keras file or a shendu.save(module) file")
    q.add_argument("-o", "--output", required=True, help="the int8 model file to write (.safetensors)")
    q.add_argument("--calibration", default=None,
                   help="calibration inputs: a data set name (fashion_mnist, mnist, digits) whose training "
                        "images are used, or a .npy file of inputs shaped as the model takes them "
                        "(default: the data set stored in the model file)")
    q.add_argument("--calibration-size", type=_count(1), default=1000,
                   help="how many calibration inputs to use")
    q.add_argument("--method", choices=("minmax", "percentile"), default="minmax",
                   help="activation range: min-max, or the percentile range (ignores rare outliers)")
    q.add_argument("--percentile", type=float, default=99.99, help="the percentile for --method percentile")
    q.add_argument("--onnx", default=None, help="also write an ONNX QDQ file here")
    p = sub.add_parser("prune", formatter_class=fmt, help="magnitude or structured channel pruning",
                       description="Prune a model and write it in the format it was read in.")
    p.add_argument("model_file", help="a .keras file or a shendu.save(module) file")
    p.add_argument("-o", "--output", required=True, help="the pruned model file to write")
    p.add_argument("--amount", type=_fraction, default=0.5,
                   help="fraction of the weights (or, with --structured, of each layer's channels) to remove")
    p.add_argument("--structured", action="store_true",
                   help="remove whole channels (the layers get smaller) instead of zeroing single weights")


def _read_model(path):
    """(model, kind, metadata): kind 'keras' or 'module'."""
    if not os.path.exists(path):
        raise CLIError(f"{path}: no such model file")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a folder, expected a model file")
    if zipfile.is_zipfile(path):
        model = _load_model(path)
        try:
            meta = _model_metadata(path, model)
        except CLIError:
            meta = {}
        return model, "keras", meta
    from . import nn
    from .serialization import load

    try:
        obj = load(path)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        raise CLIError(f"{path}: cannot load the model ({_first_line(exc)})") from None
    if not isinstance(obj, nn.Module):
        raise CLIError(f"{path}: holds a {type(obj).__name__}, not a model (save one with "
                           "shendu.save(model, path) or model.save('m.keras'))")
    return obj, "module", {}


def _write_model(model, kind, path, meta):
    _check_writable_dir(os.path.dirname(os.path.abspath(path)), "-o")
    if kind == "keras":
        if meta:
            model.save(path, metadata=meta)
        else:
            model.save(path)
    else:
        from .serialization import save

        save(model, path)


def _calibration(args, model, kind, meta):
    source = args.calibration or meta.get("dataset")
    if not source:
        raise CLIError(f"{args.model_file}: the file does not say which data set it was trained on; "
                           "give calibration inputs with --calibration")
    if source.endswith(".npy"):
        try:
            x = np.load(source, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CLIError(f"{source}: cannot read the calibration inputs ({_first_line(exc)})") from None
        return x[: args.calibration_size].astype(np.float32)
    if source not in DATASETS:
        raise CLIError(f"--calibration: expected a data set ({', '.join(DATASETS[1:])}) or a .npy "
                           f"file, got {source!r}")
    (x, _), _, _, _ = load_dataset(source)
    x = x[: args.calibration_size]
    if kind == "module" and x.ndim == 4:
        x = x.transpose(0, 3, 1, 2)  # the data sets are NHWC; shendu.nn models take NCHW
    return np.ascontiguousarray(x)


def _file_size(path):
    return os.path.getsize(path)


def cmd_quantize(args):
    from . import compress as q_mod
    from .compress.qdq import export_qdq

    model, kind, meta = _read_model(args.model_file)
    x = _calibration(args, model, kind, meta)
    if not 50.0 < args.percentile <= 100.0:
        raise CLIError(f"--percentile must be in (50, 100], got {args.percentile}")
    try:
        q = q_mod.quantize(model, x, method=args.method, percentile=args.percentile)
    except (ValueError, TypeError) as exc:
        raise CompressFailed(_first_line(exc)) from None
    _check_writable_dir(os.path.dirname(os.path.abspath(args.output)), "-o")
    meta = {k: str(v) for k, v in meta.items() if isinstance(v, (str, int, float))}
    q_mod.save_quantized(q, args.output, metadata={"source": os.path.basename(args.model_file), **meta})
    print(f"int8 model written to {args.output}: {_file_size(args.output):,} bytes (the input file: "
          f"{_file_size(args.model_file):,} bytes; calibration: {len(x)} inputs, {q.calibration})")
    if args.onnx:
        try:
            export_qdq(q, args.onnx, x.shape[1:])
        except ImportError as exc:
            raise CLIError(str(exc)) from None
        print(f"ONNX QDQ model written to {args.onnx}: {_file_size(args.onnx):,} bytes")
    return 0


def cmd_prune(args):
    from . import nn
    from .compress import prune as P
    from .compress.report import report
    from .compress.structured import prune_channels

    model, kind, meta = _read_model(args.model_file)
    before = report(model, print_fn=False)
    if args.structured:
        try:
            plan = prune_channels(model, args.amount)
        except (ValueError, TypeError) as exc:
            raise CompressFailed(_first_line(exc)) from None
        if not any(p.get("after", p.get("before")) != p.get("before") for p in plan):
            raise CompressFailed("no layer could lose channels (" +
                                 "; ".join(f"{p['layer']}: {p.get('skipped', 'kept')}" for p in plan) + ")")
    else:
        params = [(m, "weight") for m in model.modules()
                  if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight is not None]
        if not params:
            raise CompressFailed("the model has no Conv or Linear weights to prune")
        P.global_unstructured(params, amount=args.amount)
        for m, name in params:
            P.remove(m, name)
    after = report(model, print_fn=False)
    _write_model(model, kind, args.output, meta)
    print(f"pruned model written to {args.output}: {after['params']:,} parameters (was "
          f"{before['params']:,}), {after['sparsity']:.1%} zeros, {_file_size(args.output):,} bytes. "
          "Fine-tune it to win back accuracy.")
    return 0


COMPRESS_HANDLERS = {"quantize": cmd_quantize, "prune": cmd_prune}


# ---- argument parsing -----------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line on stderr (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _count(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = "count"
    return parse


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every flag's default, except where the help text itself says what an unset flag does."""

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def make_parser():
    fmt = _Help
    p = _Parser(prog="shendu", description="shendu: deep learning from the math up on NumPy.",
                formatter_class=fmt)
    p.add_argument("--version", action="version", version=f"shendu {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    def training_args(sp, demo):
        sp.add_argument("--dataset", choices=DATASETS, default="auto",
                        help="data set (auto: Fashion-MNIST when installed, else digits)")
        sp.add_argument("--model", choices=MODELS, default="cnn",
                        help="cnn: two conv/pool blocks and a dense layer; mlp: one 512-unit hidden layer")
        if demo:
            sp.add_argument("--full", action="store_true",
                            help="the longer run: all training images (Fashion-MNIST: about 9 minutes)")
            sp.add_argument("--epochs", type=_count(1), default=None,
                            help="epochs (default: 2 on Fashion-MNIST/MNIST, 10 on digits, 30 on digits "
                                 "with --full)")
            sp.add_argument("--limit", type=_count(1), default=None,
                            help="use only the first N training images and N/5 test images (default: "
                                 "10,000 on Fashion-MNIST/MNIST, all with --full or on digits)")
        else:
            sp.add_argument("--epochs", type=_count(1), default=5, help="passes over the training images")
            sp.add_argument("--limit", type=_count(1), default=None,
                            help="use only the first N training images and N/5 test images")
        sp.add_argument("--batch-size", type=_count(1), default=32, help="images per training step")
        sp.add_argument("--seed", type=int, default=0, help="seed of the weight initialisation and shuffling")
        sp.add_argument("--report-dir", default=os.path.join("runs", "demo" if demo else "train"),
                        help="folder for report.html and metrics.json")
        sp.add_argument("--save", default=None,
                        help="save the trained model (.keras file, with its data set) here")
        sp.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                        help="0 silent, 1 progress bar, 2 one line per epoch")

    training_args(sub.add_parser("demo", help="train the seed CNN and write a report (about two minutes)",
                                 formatter_class=fmt), demo=True)
    training_args(sub.add_parser("train", help="train a model on a data set", formatter_class=fmt),
                  demo=False)
    ev = sub.add_parser("evaluate", help="evaluate a saved model on a data set's test split",
                        formatter_class=fmt)
    ev.add_argument("model_file", help="a model saved with --save")
    ev.add_argument("--dataset", choices=DATASETS, default=None,
                    help="data set (default: the one the model was trained on, as stored in the file)")
    ev.add_argument("--limit", type=_count(1), default=None, help="use only the first N/5 test images")
    sub.add_parser("info", help="versions of shendu and its optional dependencies", formatter_class=fmt)
    sub.add_parser("export", help="export a model to ONNX (not yet available)", formatter_class=fmt)
    sub.add_parser("serve", help="serve a model over HTTP (not yet available)", formatter_class=fmt)
    add_compress_commands(sub, fmt)
    return p


def main(argv=None):
    """Run the command line; returns the exit status (0 done, 2 a mistake, 130 Ctrl-C)."""
    args = make_parser().parse_args(argv)
    handlers = {"demo": lambda a: cmd_train(a, demo=True), "train": cmd_train, "evaluate": cmd_evaluate,
                "info": cmd_info, "export": cmd_later, "serve": cmd_later}
    handlers.update(COMPRESS_HANDLERS)
    try:
        return handlers[args.command](args)
    except CompressFailed as exc:
        print(f"shendu {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except CLIError as exc:
        print(f"shendu {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        note = getattr(exc, "shendu_note", None)
        print(f"shendu {args.command}: interrupted (Ctrl-C)" + (f"; {note}" if note else ""), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
