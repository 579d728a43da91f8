"""``model.summary()``: Keras 3's table, and ``summary(detail=True)`` with cost figures per layer.

    Model: "sequential"
    ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
    ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
    │ dense (Dense)                   │ (None, 512)            │       401,920 │
    ...
     Total params: 407,050 (1.55 MB)

``detail=True`` adds, per layer, the forward multiply-adds counted as 2 FLOPs per sample (an analytic
count from the shapes), the activation memory of its output for one batch, and the forward and
backward time measured on a random batch (the fastest of ``runs`` repetitions).
"""

import time

import numpy as np

from ..autograd import no_grad
from ..nn.module import training_mode
from ..tensor import Tensor
from .layers.base import InputLayer, _is_shape, flatten_structure

__all__ = ["print_summary", "readable_memory_size", "layer_flops"]


def readable_memory_size(nbytes):
    """Keras's format: 215.04 KB (powers of 1024, two decimals)."""
    units = ["B", "KB", "MB", "GB", "TB", "PB"]
    scale = 1024.0
    for unit in units:
        if nbytes / scale < 1:
            return f"{nbytes:.2f} {unit}"
        nbytes /= scale
    return f"{nbytes:.2f} {units[-1]}"


def _shape_text(shape):
    if shape is None:
        return "?"
    if _is_shape(shape):
        return (
            "("
            + ", ".join("None" if d is None else str(d) for d in shape)
            + ("," if len(shape) == 1 else "")
            + ")"
        )
    return "[" + ", ".join(_shape_text(s) for s in shape) + "]"


def _type_name(layer):
    return layer._class_name() if hasattr(layer, "_class_name") else type(layer).__name__


def _layer_output_shape(model, layer):
    nodes = getattr(model, "_nodes", None)
    if nodes:
        for node in nodes:
            if node.layer is layer:
                shapes = [t.shape for t in node.output_tensors]
                return shapes[0] if len(shapes) == 1 else shapes
    if isinstance(layer, InputLayer):
        return layer._batch_input_shape
    return layer._output_shape


def _connected_to(model, layer):
    nodes = getattr(model, "_nodes", None) or []
    refs = []
    counts = {}
    keys = {}
    for t in model._input_tensors:
        keys[id(t.node)] = 0
    for node in nodes:
        keys[id(node)] = counts.get(node.layer.name, 0)
        counts[node.layer.name] = counts.get(node.layer.name, 0) + 1
    for node in nodes:
        if node.layer is layer:
            for t in node.input_tensors:
                refs.append(f"{t.node.layer.name}[{keys.get(id(t.node), 0)}][{t.index}]")
    return refs or ["-"]


def _sequential_like(model):
    nodes = getattr(model, "_nodes", None)
    if nodes is None or not model._is_graph_network:
        return True
    if len(model._input_tensors) != 1 or len(model._output_tensors) != 1:
        return False
    uses = {}
    for node in nodes:
        if len(node.input_tensors) != 1 or len(node.output_tensors) != 1:
            return False
        for t in node.input_tensors:
            uses[id(t)] = uses.get(id(t), 0) + 1
    return all(n == 1 for n in uses.values()) and len({id(n.layer) for n in nodes}) == len(nodes)


def _count(specs):
    """(all, trainable) weight counts of ``(layer, spec)`` pairs."""
    sizes = [(int(np.prod(spec.shape)), not spec.state and spec.tensor.requires_grad) for _, spec in specs]
    return sum(n for n, _ in sizes), sum(n for n, t in sizes if t)


# ----- FLOPs ------------------------------------------------------------------------------------------
def layer_flops(layer, in_shape, out_shape):
    """Forward FLOPs for ONE sample (a multiply-add counts 2), from the layer's configuration and shapes."""
    from . import layers as L

    def size(shape):
        if shape is None or not _is_shape(shape):
            return 0
        return int(np.prod([d for d in shape[1:] if d is not None])) if len(shape) > 1 else 1

    if isinstance(layer, L.Dense):
        rows = size(in_shape) // max(1, in_shape[-1])
        return rows * (2 * in_shape[-1] * layer.units + (layer.units if layer.use_bias else 0))
    if isinstance(layer, L.Conv2DTranspose):
        c_in = in_shape[-1] if layer.data_format == "channels_last" else in_shape[1]
        k = int(np.prod(layer.kernel_size))
        return 2 * k * c_in * layer.filters * (size(in_shape) // max(1, c_in))
    if isinstance(layer, (L.Conv1D, L.Conv2D)):
        c_in = in_shape[-1] if layer.data_format == "channels_last" else in_shape[1]
        k = int(np.prod(layer.kernel_size))
        positions = size(out_shape) // max(1, layer.filters)
        return positions * layer.filters * (2 * k * c_in // layer.groups + (1 if layer.use_bias else 0))
    if isinstance(layer, (L.SimpleRNN, L.LSTM, L.GRU)):
        steps, n_in, u = in_shape[1] or 1, in_shape[-1], layer.units
        g = {"RNN": 1, "LSTM": 4, "GRU": 3}[layer._mode]
        return steps * (2 * g * u * (n_in + u) + 8 * g * u)
    if isinstance(layer, (L.Bidirectional,)):
        f = layer.forward_layer
        return 2 * layer_flops(f, in_shape, f.compute_output_shape(in_shape))
    if isinstance(layer, L.TimeDistributed):
        inner_in = (None,) + tuple(in_shape[2:])
        return (in_shape[1] or 1) * layer_flops(
            layer.layer, inner_in, layer.layer.compute_output_shape(inner_in)
        )
    if isinstance(layer, (L.BatchNormalization, L.LayerNormalization)):
        return 4 * size(in_shape)
    if isinstance(layer, L.Embedding) or isinstance(layer, InputLayer):
        return 0
    if hasattr(layer, "_graph_layers") or isinstance(layer, _models().Sequential):
        return 0
    if isinstance(layer, (L.MaxPooling2D, L.AveragePooling2D, L.MaxPooling1D, L.AveragePooling1D)):
        return size(out_shape) * int(np.prod(layer.pool_size))
    shapes = in_shape if not _is_shape(in_shape) else [in_shape]
    return max(size(s) for s in shapes) if shapes else 0  # element-wise layers: ~1 FLOP per element


def _models():
    from . import models

    return models


# ----- the table ---------------------------------------------------------------------------------------
def _wrap(text, width):
    """Cell lines of at most ``width`` characters (words kept whole where possible)."""
    out = []
    for para in str(text).split("\n"):
        line = ""
        for word in para.split(" "):
            while len(word) > width:
                if line:
                    out.append(line)
                    line = ""
                out.append(word[:width])
                word = word[width:]
            if not line:
                line = word
            elif len(line) + 1 + len(word) <= width:
                line += " " + word
            else:
                out.append(line)
                line = word
        out.append(line)
    return out or [""]


def _table(header, rows, widths, align):
    def border(left, fill, mid, right):
        return left + mid.join(fill * w for w in widths) + right

    def cells(values, sep):
        wrapped = [_wrap(v, w - 2) for v, w in zip(values, widths)]
        height = max(len(c) for c in wrapped)
        lines = []
        for i in range(height):
            parts = []
            for c, w, a in zip(wrapped, widths, align):
                text = c[i] if i < len(c) else ""
                parts.append(" " + (text.rjust(w - 2) if a == "right" else text.ljust(w - 2)) + " ")
            lines.append(sep + sep.join(parts) + sep)
        return lines

    out = [border("┏", "━", "┳", "┓")]
    out += cells(header, "┃")
    out.append(border("┡", "━", "╇", "┩"))
    for i, row in enumerate(rows):
        out += cells(row, "│")
        if i < len(rows) - 1:
            out.append(border("├", "─", "┼", "┤"))
    out.append(border("└", "─", "┴", "┘"))
    return out


def print_summary(model, print_fn=None, detail=False, batch_size=32, runs=3, show_trainable=False):
    """Print (or pass to ``print_fn``) the summary table of ``model``; also returns the text."""
    layers = model.layers
    if not model.built and not any(la.built for la in layers):
        raise ValueError(
            f"The model '{model.name}' has not yet been built. Build the model first by calling "
            "build() or by calling the model on a batch of data (or give the first layer an "
            "input_shape)."
        )
    sequential_like = _sequential_like(model)
    header = ["Layer (type)", "Output Shape", "Param #"]
    align = ["left", "left", "right"]
    widths = [33, 24, 15]
    if not sequential_like:
        header.append("Connected to")
        align.append("left")
        widths = [30, 22, 11, 22]
    if show_trainable:
        header.append("Trainable")
        align.append("left")
        widths.append(11)
    costs = _measure(model, batch_size, runs) if detail else {}
    if detail:
        header += ["FLOPs/sample", "Act. memory", "Fwd ms", "Bwd ms"]
        align += ["right"] * 4
        widths += [15, 13, 9, 9]
    rows = []
    for layer in layers:
        total, _ = _count(layer._all_specs()) if layer.built else (0, 0)
        row = [
            f"{layer.name} ({_type_name(layer)})",
            _shape_text(_layer_output_shape(model, layer)),
            f"{total:,}",
        ]
        if not sequential_like:
            refs = _connected_to(model, layer)
            row.append(",\n".join(refs))
        if show_trainable:
            row.append("Y" if layer.trainable else "N")
        if detail:
            c = costs.get(id(layer), {})
            row += [
                f"{c['flops']:,}" if "flops" in c else "-",
                readable_memory_size(c["memory"]) if "memory" in c else "-",
                f"{c['forward'] * 1e3:.3f}" if "forward" in c else "-",
                f"{c['backward'] * 1e3:.3f}" if "backward" in c else "-",
            ]
        rows.append(row)
    for i, h in enumerate(header):  # widen columns to their longest line, as a wide console does
        longest = max([len(h)] + [max(len(x) for x in str(r[i]).split("\n")) for r in rows])
        if i == 0 or header[i] in ("Output Shape", "Param #") or detail:
            widths[i] = max(widths[i], longest + 2)
    total, trainable = _count(model._all_specs() if model.built or layers else [])
    lines = [f'Model: "{model.name}"', *_table(header, rows, widths, align)]
    for what, n in (("Total", total), ("Trainable", trainable), ("Non-trainable", total - trainable)):
        lines.append(f" {what} params: {n:,} ({readable_memory_size(n * 4)})")  # float32 weights
    if detail and costs:
        c = costs["model"]
        lines.append(f" Forward FLOPs per sample: {c['flops']:,}")
        lines.append(f" Activation memory per batch of {batch_size}: {readable_memory_size(c['memory'])}")
        lines.append(
            f" Measured per batch of {batch_size}: forward {c['forward'] * 1e3:.3f} ms, "
            f"backward {c['backward'] * 1e3:.3f} ms"
        )
    text = "\n".join(lines)
    if print_fn is not None:
        for line in lines:
            print_fn(line)
    else:
        print(text)
    return text


# ----- measurements for detail=True ----------------------------------------------------------------------
def _example_inputs(model, batch_size):
    from . import layers as L

    rng = np.random.default_rng(0)
    tensors = model._input_tensors
    if not tensors:
        raise ValueError("summary(detail=True) needs a model with a known input shape")
    first = model.layers[0] if model.layers else None
    out = []
    for t in tensors:
        shape = tuple(batch_size if d is None else d for d in t.shape)
        consumer = first
        nodes = getattr(model, "_nodes", None) or []
        for node in nodes:
            if any(x is t for x in node.input_tensors):
                consumer = node.layer
                break
        if isinstance(consumer, L.Embedding) or np.dtype(t.dtype).kind in "iu":
            high = consumer.input_dim if isinstance(consumer, L.Embedding) else 2
            out.append(rng.integers(0, high, size=shape).astype(np.int64))
        else:
            out.append(rng.standard_normal(shape).astype(np.float32))
    return out


def _as_leaf(v):
    if isinstance(v, Tensor) and v.dtype.kind == "f":
        return Tensor(v.array.copy(), requires_grad=True)
    return v


def _best(fn, runs):
    best = None
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best


def _measure_layers(model, inputs, runs):
    from .layers.base import map_structure

    calls = []  # (layer, args, kwargs, output)
    hooks = []

    def hook(layer, args, out):
        calls.append((layer, args, out))

    for layer in model.layers:
        hooks.append(layer.register_forward_hook(hook))
    try:
        with no_grad():
            model(*inputs) if len(inputs) > 1 else model(inputs[0])
    finally:
        for h in hooks:
            h.remove()
    costs = {}
    total_flops = total_mem = 0
    for layer, args, out in calls:
        if isinstance(layer, InputLayer):
            continue
        in_shapes = [(None,) + tuple(a.shape[1:]) for a in flatten_structure(args) if hasattr(a, "shape")]
        out_shape = map_structure(lambda t: (None,) + tuple(t.shape[1:]), out)
        first_out = flatten_structure(out)
        flops = layer_flops(
            layer,
            in_shapes[0] if len(in_shapes) == 1 else in_shapes,
            out_shape if not isinstance(out_shape, list) else out_shape[0],
        )
        mem = int(sum(o.array.nbytes for o in first_out if hasattr(o, "array")))
        leaf_args = map_structure(_as_leaf, args)

        def forward(la=layer, a=leaf_args):
            return la(*a)

        fwd = _best(forward, runs)
        grads = [np.ones(o.shape, dtype=o.dtype) for o in first_out]

        def backward(la=layer, a=leaf_args, g=grads):
            y = flatten_structure(la(*a))
            loss = None
            for yi, gi in zip(y, g):
                if yi.requires_grad:
                    term = (yi * Tensor(gi)).sum()
                    loss = term if loss is None else loss + term
            if loss is not None:
                loss.backward()

        bwd = max(0.0, _best(backward, runs) - fwd)
        costs[id(layer)] = {"flops": int(flops), "memory": mem, "forward": fwd, "backward": bwd}
        total_flops += int(flops)
        total_mem += mem
    return costs, total_flops, total_mem


def _measure(model, batch_size, runs):
    """Per layer: FLOPs per sample, output bytes per batch, forward and backward seconds per batch."""
    inputs = _example_inputs(model, batch_size)
    with training_mode(False):  # each layer measured in inference mode; the whole model in its own mode
        costs, total_flops, total_mem = _measure_layers(model, inputs, runs)
    model.zero_grad()
    whole_fwd = _best(lambda: model(*[Tensor(i) for i in inputs]), runs)

    def whole_backward():
        y = flatten_structure(model(*[Tensor(i) for i in inputs]))
        loss = None
        for yi in y:
            if yi.requires_grad:
                loss = yi.sum() if loss is None else loss + yi.sum()
        if loss is not None:
            loss.backward()

    whole_bwd = max(0.0, _best(whole_backward, runs) - whole_fwd)
    model.zero_grad()
    costs["model"] = {"flops": total_flops, "memory": total_mem, "forward": whole_fwd, "backward": whole_bwd}
    return costs
