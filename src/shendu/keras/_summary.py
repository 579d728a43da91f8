"""``model.summary()``: Keras 3's table, and ``summary(detail=True)`` with cost figures per layer.

    Model: "sequential"
    ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
    ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
    │ dense (Dense)                   │ (None, 512)            │       401,920 │
    ...
     Total params: 407,050 (1.55 MB)

``detail=True`` adds, per layer, the forward FLOPs per sample of the nn modules inside it (counted by
:func:`shendu.train.summary.flops`; a layer without such modules, ~1 per element), the activation
memory of its output for one batch, and the forward and backward time measured on a random batch (the
fastest of ``runs`` repetitions). The table itself is :func:`shendu.train.summary.box_table`."""

import numpy as np

from ..autograd import no_grad
from ..nn.module import training_mode
from ..tensor import Tensor
from ..train.summary import box_table, flops, forward_backward_time, readable_memory_size
from . import layers as L
from ._saving import _node_key
from .layers.base import InputLayer, _is_shape, flatten_structure, map_structure

__all__ = ["print_summary", "readable_memory_size"]


def _shape_text(shape):
    if shape is None:
        return "?"
    if _is_shape(shape):
        return "(" + ", ".join("None" if d is None else str(d) for d in shape) + "," * (len(shape) == 1) + ")"
    return "[" + ", ".join(_shape_text(s) for s in shape) + "]"


def _type_name(layer):
    return layer._class_name() if hasattr(layer, "_class_name") else type(layer).__name__


def _layer_output_shape(model, layer):
    for node in getattr(model, "_nodes", None) or []:
        if node.layer is layer:
            shapes = [t.shape for t in node.output_tensors]
            return shapes[0] if len(shapes) == 1 else shapes
    return layer._batch_input_shape if isinstance(layer, InputLayer) else layer._output_shape


def _connected_to(model, layer):
    keys = _node_key(model)  # asked only for functional models that are not a plain chain
    return [f"{t.node.layer.name}[{keys.get(id(t.node), ('', 0))[1]}][{t.index}]"
            for node in model._nodes if node.layer is layer for t in node.input_tensors] or ["-"]


def _sequential_like(model):
    nodes = getattr(model, "_nodes", None)
    if nodes is None or not model._is_graph_network:
        return True
    if len(model._input_tensors) != 1 or len(model._output_tensors) != 1:
        return False
    if any(len(node.input_tensors) != 1 or len(node.output_tensors) != 1 for node in nodes):
        return False
    inputs = {id(node.input_tensors[0]) for node in nodes}  # each tensor used once, each layer called once
    return len(inputs) == len(nodes) and len({id(n.layer) for n in nodes}) == len(nodes)


def _count(specs):
    """(all, trainable) weight counts of ``(layer, spec)`` pairs."""
    sizes = [(int(np.prod(spec.shape)), not spec.state and spec.tensor.requires_grad) for _, spec in specs]
    return sum(n for n, _ in sizes), sum(n for n, t in sizes if t)


def print_summary(model, print_fn=None, detail=False, batch_size=32, runs=3, show_trainable=False):
    """Print (or pass to ``print_fn``) the summary table of ``model``; also returns the text."""
    layers = model.layers
    if not model.built and not any(la.built for la in layers):
        raise ValueError(f"The model '{model.name}' has not yet been built. Build the model first by calling "
                         "build() or by calling the model on a batch of data (or give the first layer an "
                         "input_shape).")
    sequential_like = _sequential_like(model)
    header, align = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    widths = [33, 24, 15]
    if not sequential_like:
        header, widths = [*header, "Connected to"], [30, 22, 11, 22]
        align.append("left")
    if show_trainable:
        header, align, widths = [*header, "Trainable"], [*align, "left"], [*widths, 11]
    costs = _measure(model, batch_size, runs) if detail else {}
    if detail:
        header, align = [*header, "FLOPs/sample", "Act. memory", "Fwd ms", "Bwd ms"], [*align, *["right"] * 4]
        widths = [*widths, 15, 13, 9, 9]
    rows = []
    for layer in layers:
        total, _ = _count(layer._all_specs()) if layer.built else (0, 0)
        row = [f"{layer.name} ({_type_name(layer)})", _shape_text(_layer_output_shape(model, layer)),
               f"{total:,}"]
        if not sequential_like:
            row.append(",\n".join(_connected_to(model, layer)))
        if show_trainable:
            row.append("Y" if layer.trainable else "N")
        if detail:
            c = costs.get(id(layer), {})
            row += [f"{c['flops']:,}" if "flops" in c else "-",
                    readable_memory_size(c["memory"]) if "memory" in c else "-",
                    *(f"{c[k] * 1e3:.3f}" if k in c else "-" for k in ("forward", "backward"))]
        rows.append(row)
    for i, h in enumerate(header):  # widen columns to their longest line, as a wide console does
        longest = max([len(h)] + [max(len(x) for x in str(r[i]).split("\n")) for r in rows])
        if i == 0 or header[i] in ("Output Shape", "Param #") or detail:
            widths[i] = max(widths[i], longest + 2)
    total, trainable = _count(model._all_specs() if model.built or layers else [])
    lines = [f'Model: "{model.name}"', *box_table(header, rows, widths, align)]
    for what, n in (("Total", total), ("Trainable", trainable), ("Non-trainable", total - trainable)):
        lines.append(f" {what} params: {n:,} ({readable_memory_size(n * 4)})")  # float32 weights
    if detail and costs:
        c = costs["model"]
        lines += [f" Forward FLOPs per sample: {c['flops']:,}",
                  f" Activation memory per batch of {batch_size}: {readable_memory_size(c['memory'])}",
                  f" Measured per batch of {batch_size}: forward {c['forward'] * 1e3:.3f} ms, "
                  f"backward {c['backward'] * 1e3:.3f} ms"]
    for line in lines:
        (print_fn or print)(line)
    return "\n".join(lines)


# ----- measurements for detail=True ----------------------------------------------------------------------
def _example_inputs(model, batch_size):
    rng = np.random.default_rng(0)
    tensors = model._input_tensors
    if not tensors:
        raise ValueError("summary(detail=True) needs a model with a known input shape")
    first = model.layers[0] if model.layers else None
    out = []
    for t in tensors:
        shape = tuple(batch_size if d is None else d for d in t.shape)
        consumer = next((node.layer for node in getattr(model, "_nodes", None) or []
                         if any(x is t for x in node.input_tensors)), first)
        if isinstance(consumer, L.Embedding) or np.dtype(t.dtype).kind in "iu":
            high = consumer.input_dim if isinstance(consumer, L.Embedding) else 2
            out.append(rng.integers(0, high, size=shape).astype(np.int64))
        else:
            out.append(rng.standard_normal(shape).astype(np.float32))
    return out


def _as_leaf(v):
    return Tensor(v.array.copy(), requires_grad=True) if isinstance(v, Tensor) and v.dtype.kind == "f" else v


def _measure_layers(model, inputs, runs):
    """Per layer: FLOPs per sample, output bytes, forward and backward seconds (one batch)."""
    calls = []
    hooks = [layer.register_forward_hook(lambda la, a, o: calls.append((la, a))) for layer in model.layers]
    try:
        with no_grad():
            model(*inputs)
    finally:
        for h in hooks:
            h.remove()
    costs = {}
    for layer, args in calls:
        if isinstance(layer, InputLayer):
            continue
        leaf_args = map_structure(_as_leaf, args)
        with no_grad():
            out, count = flops(lambda la=layer, a=leaf_args: la(*a), layer)
        outs = flatten_structure(out)
        batch = max(1, len(inputs[0]))
        if count is None:  # element-wise layers: ~1 FLOP per element of the largest input
            count = max([int(np.prod(a.shape)) for a in flatten_structure(args) if hasattr(a, "shape")],
                        default=0)
        grads = [np.ones(o.shape, dtype=o.dtype) for o in outs]
        fwd, bwd = forward_backward_time(lambda la=layer, a=leaf_args: flatten_structure(la(*a)), runs, grads)
        costs[id(layer)] = {"flops": int(count) // batch, "memory": int(sum(o.array.nbytes for o in outs)),
                            "forward": fwd, "backward": bwd}
    return costs


def _measure(model, batch_size, runs):
    """Per layer and for the whole model: FLOPs per sample, output bytes per batch, forward and backward
    seconds per batch."""
    inputs = _example_inputs(model, batch_size)
    with training_mode(False):  # each layer measured in inference mode; the whole model in its own mode
        costs = _measure_layers(model, inputs, runs)
    model.zero_grad()
    fwd, bwd = forward_backward_time(lambda: flatten_structure(model(*[Tensor(i) for i in inputs])), runs)
    model.zero_grad()
    costs["model"] = {"flops": sum(c["flops"] for c in costs.values()),
                      "memory": sum(c["memory"] for c in costs.values()), "forward": fwd, "backward": bwd}
    return costs
