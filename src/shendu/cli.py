"""The ``shendu`` command line: ``shendu demo | train | evaluate | export | serve | quantize | prune | info``.

``shendu demo`` is the main job: it trains the classic small CNN on a part of Fashion-MNIST (or,
when those files are not installed, on the digits data set shipped with shendu) with Keras's
progress bar, and writes a run report (``report.html`` + ``metrics.json``). It takes about two
minutes on a 2-core laptop; ``shendu demo --full`` trains on all 60,000 images (about 9 minutes).

Every mistake on the command line (a bad flag value, a missing or damaged model file, a model that
does not fit the data set, a ``--save`` or ``--report-dir`` that cannot be written) prints one line
on stderr and exits with status 2, before any training starts; Ctrl-C exits with status 130 after
writing the report of the epochs finished so far. A command given sound arguments that still cannot do
its work (``shendu export`` of a model with an op ONNX or the standalone code cannot express) prints one
line and exits with status 1.

``shendu export MODEL --format onnx|numpy`` writes an ONNX graph, or the standalone NumPy export (one
``.py`` file plus its weights, run by NumPy alone); ``shendu info MODEL`` summarises a ``.keras``,
``.onnx`` or ``shendu.save`` file (``shendu info`` alone prints the versions of shendu and its extras).

A model saved with ``--save`` remembers its data set and preprocessing in the ``metadata.json``
member of the ``.keras`` file (a JSON object: ``dataset``, ``preprocessing``, ``input_shape``,
``class_names``, ``shendu_version``), so ``shendu evaluate model.keras`` needs no ``--dataset``.
"""
import argparse
import collections
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
    if getattr(args, "model_file", None):
        return cmd_info_model(args)
    import shendu as sd

    print(f"shendu {sd.__version__}")
    print(f"python {platform.python_version()} on {platform.platform()}")
    print(f"numpy {np.__version__} (array backend: {sd.backend.xp.__name__})")
    for mod in ("torch", "safetensors", "onnx", "onnxruntime", "matplotlib", "tqdm", "sklearn", "PIL",
                "mnist1d"):
        try:
            m = __import__(mod)
            print(f"{mod} {getattr(m, '__version__', '?')}")
        except ImportError:
            print(f"{mod} (not installed)")
    return 0


# ---- model files: export and info ------------------------------------------------------------------

class CommandFailed(CLIError):
    """The command was given sound arguments but could not do its work (exit status 1), e.g. an op that
    cannot be exported."""

    status = 1


def _parse_shape(text):
    """``1,28,28,1`` (or ``1x28x28x1``) -> (1, 28, 28, 1)."""
    parts = text.replace("x", ",").replace(" ", "").split(",")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected sizes separated by commas such as 1,28,28,1, got {text!r}") from None
    if not shape or any(d < 1 for d in shape):
        raise argparse.ArgumentTypeError(f"expected positive sizes such as 1,28,28,1, got {text!r}")
    return shape


def _opset(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number from 13 to 21, got {text!r}") from None
    if not 13 <= value <= 21:
        raise argparse.ArgumentTypeError(f"shendu writes ONNX opsets 13 to 21, got {value}")
    return value


def _model_kind(path):
    """'onnx', 'keras' or 'shendu' (a file written by shendu.save) for the model file ``path``."""
    if not os.path.exists(path):
        raise CLIError(f"{path}: no such model file")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a folder, expected a model file (.keras, .onnx or a shendu.save file)")
    if path.lower().endswith(".onnx"):
        return "onnx"
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(b"PK") or path.lower().endswith(".keras"):
        return "keras"
    return "shendu"


def _load_any(path, kind):
    """The model object in a .keras or shendu.save file (one-line errors for what is not a model)."""
    if kind == "keras":
        return _load_model(path)
    import shendu as sd
    import shendu.keras  # noqa: F401 - shendu's own layer classes, which load() may rebuild

    from .nn import Module

    try:
        obj = sd.load(path)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        raise CLIError(f"{path}: cannot load the model ({_first_line(exc)})") from None

    if not isinstance(obj, Module):
        what = "a state_dict (weights only)" if isinstance(obj, dict) else type(obj).__name__
        raise CLIError(f"{path}: holds {what}, not a model; save the module itself with shendu.save(model, "
                       "path), or load it into your model class and export from Python")
    return obj


def _vocabulary(model):
    """The vocabulary size when the model's first layer is an embedding (it takes token ids), else None."""
    for m in model.modules() if hasattr(model, "modules") else ():
        name = type(m).__name__
        if name in ("Embedding", "EmbeddingBag"):
            size = getattr(m, "num_embeddings", None) or getattr(m, "input_dim", None)
            return int(size) if size else 2
        if name not in ("Sequential", "Model", "Functional", "ModuleList", "InputLayer") and m is not model:
            break
    return None


def _example_input(model, shapes, path):
    """An example batch for tracing and checking: from --input-shape, else from the (Keras) model's input
    shape. Random (seeded) rather than zeros, so the check of the export compares real outputs; token ids
    for a model that starts with an embedding."""
    if not shapes:
        want = getattr(model, "input_shape", None)
        if isinstance(want, tuple) and len(want) > 1 and all(d is not None for d in want[1:]):
            shapes = [(1,) + tuple(int(d) for d in want[1:])]
        elif isinstance(want, tuple) and len(want) > 1:
            raise CLIError(f"{path}: the model's input shape {want} has open axes besides the batch; "
                           "give an example shape with --input-shape, e.g. --input-shape 1,20")
        else:
            raise CLIError(f"{path}: the file does not say what shape the model takes; give an example "
                           "batch shape with --input-shape, e.g. --input-shape 1,1,28,28")
    vocab = _vocabulary(model)
    rng = np.random.default_rng(0)
    xs = tuple(rng.integers(0, vocab, s) if vocab else rng.random(s, dtype=np.float32) for s in shapes)
    return xs[0] if len(xs) == 1 else xs


def _module_name(path):
    import re

    stem = re.sub(r"\W+", "_", os.path.splitext(os.path.basename(path))[0]).strip("_") or "model"
    return "m_" + stem if stem[0].isdigit() else stem


def cmd_export(args):
    path = args.model_file
    kind = _model_kind(path)
    stem = os.path.splitext(path)[0]
    if args.format == "onnx" and kind == "onnx":
        raise CLIError(f"{path}: is already an ONNX file (use --format numpy for a standalone NumPy export)")
    out = args.output or (stem + ".onnx" if args.format == "onnx" else stem + "_numpy")
    if args.format == "onnx":
        _check_writable_file(out, "-o")
        return _export_files(args, path, kind, out)
    made = not os.path.exists(out)
    _check_writable_dir(out, "-o")
    try:
        return _export_files(args, path, kind, out)
    except BaseException:
        if made and os.path.isdir(out) and not os.listdir(out):
            os.rmdir(out)  # a failed export leaves nothing behind
        raise


def _export_files(args, path, kind, out):
    try:
        import onnx  # noqa: F401 - both formats go through an ONNX graph
    except ImportError:
        raise CommandFailed("exporting needs the onnx package: pip install 'shendu[onnx]'") from None
    from . import onnx as sd_onnx

    if kind == "onnx":
        model, example = path, None
        if args.input_shape:
            example = tuple(np.zeros(s, dtype=np.float32) for s in args.input_shape)
    else:
        model = _load_any(path, kind)
        example = _example_input(model, args.input_shape, path)
    try:
        if args.format == "onnx":
            sd_onnx.export(model, example, out, opset=args.opset)
            print(f"Wrote {out} (ONNX opset {args.opset}, {os.path.getsize(out):,} bytes)")
            return 0
        result = sd_onnx.to_numpy(model, example, out, name=_module_name(path), opset=args.opset)
    except NotImplementedError as exc:
        raise CommandFailed(f"{path}: {_first_line(exc)}") from None
    except (ValueError, TypeError, KeyError, RuntimeError) as exc:  # unsupported layer / op, bad example
        raise CommandFailed(f"{path}: cannot export ({_first_line(exc)})") from None
    size = os.path.getsize(result.weights_path)
    print(f"Wrote {result.code_path} and {result.weights_path} ({size:,} bytes): NumPy alone runs them")
    print(f"  operators: {', '.join(result.ops)}")
    for name, err in result.max_abs_error.items():
        print(f"  checked on the example: output {name!r} max abs error {err:.3g}")
    print(f"  run: python {result.code_path} INPUT.npy -o OUTPUT.npz")
    return 0


def _thousands(n):
    return f"{n:,}"


def _info_onnx(path):
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise CommandFailed("reading ONNX files needs the onnx package: pip install 'shendu[onnx]'") from None
    try:
        model = onnx.load(path)
    except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and others
        raise CLIError(f"{path}: not a readable ONNX file ({_first_line(exc)})") from None
    g = model.graph
    inits = {t.name for t in g.initializer}

    def io(vi):
        t = vi.type.tensor_type
        dims = [d.dim_param or (d.dim_value if d.HasField("dim_value") else "?") for d in t.shape.dim]
        return {"name": vi.name, "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name
                if t.elem_type else "?", "shape": dims}

    tp = onnx.TensorProto
    floats = (tp.FLOAT, tp.DOUBLE, tp.FLOAT16, tp.BFLOAT16)
    params = sum(int(np.prod(t.dims)) for t in g.initializer if t.data_type in floats)  # not shapes and axes
    ops = collections.Counter(n.op_type for n in g.node)
    info = {"format": "onnx", "file": path, "bytes": os.path.getsize(path), "ir_version": model.ir_version,
            "opset": {o.domain or "ai.onnx": o.version for o in model.opset_import},
            "producer": f"{model.producer_name} {model.producer_version}".strip(), "graph": g.name,
            "inputs": [io(vi) for vi in g.input if vi.name not in inits],
            "outputs": [io(vi) for vi in g.output],
            "nodes": len(g.node), "ops": dict(sorted(ops.items())), "parameters": params,
            "parameter_bytes": sum(numpy_helper.to_array(t).nbytes for t in g.initializer)}
    return info, None


def _info_model(path, kind):
    model = _load_any(path, kind)
    params = list(model.parameters())
    n_params = sum(int(np.prod(p.shape)) for p in params)
    n_train = sum(int(np.prod(p.shape)) for p in params if getattr(p, "requires_grad", True))
    info = {"format": "keras" if kind == "keras" else "shendu", "file": path, "bytes": os.path.getsize(path),
            "class": type(model).__name__, "parameters": n_params, "trainable_parameters": n_train,
            "parameter_bytes": sum(int(np.asarray(p.data).nbytes) for p in params)}
    for key in ("input_shape", "output_shape"):
        with contextlib.suppress(Exception):
            value = getattr(model, key, None)
            if value is not None:
                info[key] = list(value) if isinstance(value, tuple) else value
    if kind == "keras":
        meta = _model_metadata(path, model)
        if meta:
            info["metadata"] = meta
        summary = []
        with contextlib.suppress(Exception):
            model.summary(print_fn=summary.append)
        return info, "\n".join(summary) if summary else None
    return info, repr(model)


def cmd_info_model(args):
    path = args.model_file
    kind = _model_kind(path)
    info, text = _info_onnx(path) if kind == "onnx" else _info_model(path, kind)
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"{path}: {info['format']} model, {_thousands(info['bytes'])} bytes")
    if kind == "onnx":
        opsets = ", ".join(f"{d} {v}" for d, v in info["opset"].items())
        print(f"  ONNX IR version {info['ir_version']}, opset {opsets}, "
              f"produced by {info['producer'] or '?'}")
        for what in ("inputs", "outputs"):
            for t in info[what]:
                print(f"  {what[:-1]:<6} {t['name']}: {t['dtype']} [{', '.join(str(d) for d in t['shape'])}]")
        print(f"  {info['nodes']} nodes: " + ", ".join(f"{op} x{n}" for op, n in info["ops"].items()))
    else:
        print(f"  {info['class']}")
        if text:
            print(text)
        for key in ("input_shape", "output_shape"):
            if key in info:
                print(f"  {key.replace('_', ' ')}: {tuple(info[key])}")
        meta = info.get("metadata") or {}
        if meta.get("dataset"):
            prep = meta.get("preprocessing") or "preprocessing not recorded"
            print(f"  trained on: {meta['dataset']} ({prep})")
    kib = info["parameter_bytes"] / 1024
    print(f"  parameters: {_thousands(info['parameters'])} ({kib:,.1f} KiB as stored)")
    return 0


def cmd_serve(args):
    from . import serve

    try:
        repo = serve.load_repository(args.path, args.name)
    except serve.ModelLoadError as exc:
        raise CLIError(_first_line(exc)) from None
    try:
        import fastapi  # noqa: F401
        import prometheus_client  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise CLIError(f"serving needs FastAPI, uvicorn and prometheus_client: pip install 'shendu[serve]' "
                       f"({_first_line(exc)})") from None
    where = f"http://{args.host}:{args.port}"
    for m in repo:
        print(f"shendu serve: model {m.name!r} version {m.version} ({m.platform}, input "
              f"{m.inputs[0].shape}) from {m.path}")
    print(f"shendu serve: listening on {where} (docs at {where}/docs, metrics at {where}/metrics)",
          flush=True)
    body = int(args.max_body_mb * 1024 * 1024)
    args.eager_batching = args.eager_batching is not False  # the flag's default is None: eager
    if args.workers > 1:
        serve.serve(args.path, name=args.name, host=args.host, port=args.port, workers=args.workers,
                    max_batch_size=args.max_batch_size, max_delay_ms=args.max_delay_ms,
                    eager_batching=args.eager_batching, max_body_bytes=body, log_level=args.log_level,
                    blas_threads=args.blas_threads)
    else:
        serve.serve(repo, host=args.host, port=args.port, max_batch_size=args.max_batch_size,
                    max_delay_ms=args.max_delay_ms, eager_batching=args.eager_batching, max_body_bytes=body,
                    log_level=args.log_level, blas_threads=args.blas_threads)
    return 0


def _non_negative(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number of at least 0, got {text}")
    return value


# ---- shendu quantize / shendu prune ---------------------------------------------------------------
# Model files are .keras files or shendu.save(module) files. Exit status 1: the model was read but
# cannot be compressed as asked (a layer these commands do not handle); one line, as for mistakes.

CompressFailed = CommandFailed   # the model was read but cannot be compressed as asked (exit status 1)


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
    info = sub.add_parser("info", help="a model file's summary (or, with no file, the versions of shendu and "
                          "its optional dependencies)", formatter_class=fmt,
                          description="With MODEL: its layers or graph, size, inputs and outputs (and "
                          "opset for ONNX). Without: the versions of shendu, Python, NumPy and the extras.")
    info.add_argument("model_file", nargs="?", metavar="MODEL",
                      help="a .keras file, a .onnx file or a module saved with shendu.save")
    info.add_argument("--json", action="store_true", help="print the model's summary as one JSON object")
    ex = sub.add_parser("export", help="export a model to ONNX, or to standalone NumPy code",
                        formatter_class=fmt, description="--format onnx writes an ONNX graph that other "
                        "runtimes run; --format numpy writes one readable .py file plus a .safetensors "
                        "weights file that run the model with NumPy alone (see docs/standalone.md).")
    ex.add_argument("model_file", metavar="MODEL",
                    help="a .keras file or a module saved with shendu.save (for --format numpy also a .onnx "
                         "file)")
    ex.add_argument("--format", choices=("onnx", "numpy"), default="onnx", help="what to write")
    ex.add_argument("-o", "--output", default=None,
                    help="where: the .onnx file, or the folder for the .py and weights files (default: "
                         "next to MODEL, MODEL.onnx or MODEL_numpy/)")
    ex.add_argument("--opset", type=_opset, default=17, help="ONNX opset version to write (13 to 21)")
    ex.add_argument("--input-shape", type=_parse_shape, action="append", default=None, metavar="SHAPE",
                    help="an example input batch shape such as 1,28,28,1 (batch first; once per input); "
                         "needed for shendu.save files, optional for .keras files, which know their input "
                         "shape")
    sv = sub.add_parser("serve", help="serve a model over HTTP (KServe V2, TF Serving, /predict)",
                        formatter_class=fmt,
                        description="Serve a .keras, shendu.save() or .onnx model file, or a folder "
                                    "models/<name>/<version>/<file>, over HTTP. Docs at /docs.")
    sv.add_argument("path", help="a model file or a model repository folder")
    sv.add_argument("--name", default=None, help="the model's name (default: the file or folder name)")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0: every interface)")
    sv.add_argument("--port", type=_count(1), default=8000, help="port to listen on")
    sv.add_argument("--workers", type=_count(1), default=1, help="server processes")
    sv.add_argument("--max-batch-size", type=_count(1), default=32, help="samples per batch at most")
    sv.add_argument("--max-delay-ms", type=_non_negative, default=5.0,
                    help="longest wait for a batch to fill, from its first request")
    sv.add_argument("--no-eager-batching", dest="eager_batching", action="store_false", default=None,
                    help="always wait --max-delay-ms for a batch to fill, even when no request is on its way "
                         "(default: run a batch as soon as no other request is on its way)")
    sv.add_argument("--max-body-mb", type=_non_negative, default=10.0, help="largest request body (MB)")
    sv.add_argument("--blas-threads", type=_count(1), default=None,
                    help="NumPy BLAS threads per process (default: all cores but one, at least 1)")
    sv.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
                    help="uvicorn's log level")
    add_compress_commands(sub, fmt)
    return p


def main(argv=None):
    """Run the command line; returns the exit status (0 done, 1 the work failed, 2 a mistake, 130 Ctrl-C)."""
    args = make_parser().parse_args(argv)
    handlers = {"demo": lambda a: cmd_train(a, demo=True), "train": cmd_train, "evaluate": cmd_evaluate,
                "info": cmd_info, "export": cmd_export, "serve": cmd_serve}
    handlers.update(COMPRESS_HANDLERS)
    try:
        return handlers[args.command](args)
    except CLIError as exc:
        print(f"shendu {args.command}: error: {exc}", file=sys.stderr)
        return getattr(exc, "status", 2)
    except KeyboardInterrupt as exc:
        note = getattr(exc, "shendu_note", None)
        print(f"shendu {args.command}: interrupted (Ctrl-C)" + (f"; {note}" if note else ""), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
