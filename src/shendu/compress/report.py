"""``compress.report(model)``: size, sparsity and parameter counts, one row per layer that holds weights.

For each module with tensors of its own: its parameters (a pruned weight counts once, as its
``_orig``; an int8 weight counts as parameters too), the zeros among them (sparsity = zeros ÷
parameters, what pruning bought), and the bytes its tensors take as stored (float32 = 4 bytes per
value, int8 = 1; running statistics included; pruning masks left out, as :func:`prune.remove` drops
them). Dense storage keeps zeros: sparsity shrinks a file only once it is compressed or the
channels are removed (:func:`shendu.compress.prune_channels`).
"""
import numpy as np

from ..tensor import Tensor

__all__ = ["report", "layer_table"]


def _arr(t):
    return np.asarray(t.array if isinstance(t, Tensor) else t)


def _rows(model):
    for name, module in model.named_modules():
        pruned = set(module.__dict__.get("_pruned_names", ()))
        weight_buffers = set(getattr(module, "_weight_buffers", ()))
        params = zeros = size = 0
        for key, p in module._parameters.items():
            if p is None:
                continue
            a = _arr(p)
            base = key[:-5] if key.endswith("_orig") and key[:-5] in pruned else None
            if base is not None:
                a = a * _arr(module._buffers[base + "_mask"])
            params += a.size
            zeros += int(a.size - np.count_nonzero(a))
            size += a.nbytes
        for key, b in module._buffers.items():
            if b is None or key in module._non_persistent_buffers:
                continue
            if key.endswith("_mask") and key[:-5] in pruned:
                continue
            a = _arr(b)
            size += a.nbytes
            if key in weight_buffers:
                params += a.size
                zeros += int(a.size - np.count_nonzero(a))
        if size:
            yield {"layer": name or "(model)", "type": type(module).__name__, "params": params,
                   "zeros": zeros, "sparsity": zeros / params if params else 0.0, "bytes": size}


def layer_table(model):
    """The rows of :func:`report` as a list of dicts (layer, type, params, zeros, sparsity, bytes)."""
    return list(_rows(model))


def _fmt_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"


def report(model, file=None, print_fn=None):
    """Print (and return) the per-layer table of ``model`` with a total row.

    Returns a dict: ``layers`` (the rows of :func:`layer_table`), ``params``, ``zeros``,
    ``sparsity`` and ``bytes`` totals. ``print_fn=None`` prints; pass ``print_fn=False`` to stay quiet.
    """
    rows = layer_table(model)
    total = {"params": sum(r["params"] for r in rows), "zeros": sum(r["zeros"] for r in rows),
             "bytes": sum(r["bytes"] for r in rows)}
    total["sparsity"] = total["zeros"] / total["params"] if total["params"] else 0.0
    if print_fn is not False:
        out = print_fn or (lambda line: print(line, file=file))
        width = max([len("Layer")] + [len(r["layer"]) + len(r["type"]) + 3 for r in rows] + [5])
        head = f"{'Layer (type)':<{width}}  {'Params':>10}  {'Zeros':>10}  {'Sparsity':>8}  {'Size':>10}"
        out(head)
        out("-" * len(head))
        for r in rows:
            label = f"{r['layer']} ({r['type']})"
            out(f"{label:<{width}}  {r['params']:>10,}  {r['zeros']:>10,}  {r['sparsity']:>8.1%}  "
                f"{_fmt_bytes(r['bytes']):>10}")
        out("-" * len(head))
        out(f"{'Total':<{width}}  {total['params']:>10,}  {total['zeros']:>10,}  {total['sparsity']:>8.1%}  "
            f"{_fmt_bytes(total['bytes']):>10}")
    return {"layers": rows, **total}
