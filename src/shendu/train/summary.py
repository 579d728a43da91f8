"""What a model summary measures and how it is drawn, for any ``nn.Module`` (``keras`` ``Model.summary``
builds its table on this).

* :func:`flops` runs a call with forward hooks on every submodule and adds up :func:`module_flops`,
  the analytic forward FLOPs of the nn modules that do the arithmetic (a multiply-add counts 2):

  ====================================  =================================================
  ``Linear``                            2 · in · out per row, + out for the bias
  ``Conv1d/2d/3d``                      per output element 2 · k · c_in / groups (+1 bias)
  ``ConvTranspose1d/2d``                2 · k · c_out per input element
  ``RNN`` / ``GRU`` / ``LSTM``          per step 2g·h·(in + h) + 8g·h (g = 1, 3, 4 gates)
  batch / layer / group / instance norm 4 per element
  ``MaxPool`` / ``AvgPool``             kernel size per output element
  ``Embedding``                         0
  ====================================  =================================================

* :func:`forward_backward_time` times a call and its backward pass (the fastest of ``runs``);
* :func:`box_table` draws the box table and :func:`readable_memory_size` formats bytes as Keras does.
"""
import time

import numpy as np

from .. import nn
from ..tensor import Tensor

__all__ = ["flops", "module_flops", "forward_backward_time", "best_time", "box_table", "readable_memory_size"]

def _size(t):
    return int(np.prod(t.shape)) if hasattr(t, "shape") else 0


def module_flops(module, args, output):
    """Forward FLOPs of one call of an nn ``module`` on ``args`` giving ``output`` (the whole batch),
    or None when ``module`` is not one that does the arithmetic itself (see the module docstring)."""
    x = args[0] if args else None
    y = output[0] if isinstance(output, tuple) else output
    if isinstance(module, nn.Linear):
        return 2 * _size(x) * module.out_features + (_size(y) if module.bias is not None else 0)
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
        return 2 * int(np.prod(module.kernel_size)) * module.out_channels * _size(x)
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        k = int(np.prod(module.kernel_size))
        return _size(y) * (2 * k * module.in_channels // module.groups + (module.bias is not None))
    if isinstance(module, nn.RNNBase):
        g = {"LSTM": 4, "GRU": 3}.get(module.mode, 1)
        steps_rows = _size(x) // max(1, module.input_size)
        h, dirs = module.hidden_size, 2 if module.bidirectional else 1
        ins = [module.input_size] + [h * dirs] * (module.num_layers - 1)
        return steps_rows * dirs * sum(2 * g * h * (n + h) + 8 * g * h for n in ins)
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d,
                           nn.InstanceNorm2d, nn.InstanceNorm3d)):
        return 4 * _size(x)
    if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)):
        return _size(y) * int(np.prod(module.kernel_size))
    if isinstance(module, nn.Embedding):
        return 0
    return None


def flops(fn, module):
    """``(fn(), FLOPs)``: the result of ``fn()`` and the FLOPs of the calls it made to ``module`` and its
    submodules (None when none of them is counted by :func:`module_flops`)."""
    found = []
    hooks = [m.register_forward_hook(lambda m, a, o: found.append(module_flops(m, a, o)))
             for m in module.modules()]
    try:
        out = fn()
    finally:
        for h in hooks:
            h.remove()
    counted = [f for f in found if f is not None]
    return out, (sum(counted) if counted else None)


def best_time(fn, runs):
    """The fastest of ``runs`` timings of ``fn()``, in seconds."""
    best = None
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best


def forward_backward_time(forward, runs, grads=None):
    """(forward seconds, backward seconds) of ``forward()`` (a Tensor or a list of them): the backward
    pass of Σ output · grad (grads of ones by default) timed as forward+backward less the forward."""

    def backward():
        ys = forward()
        ys = ys if isinstance(ys, list) else [ys]
        gs = grads or [None] * len(ys)
        loss = None
        for y, g in zip(ys, gs):
            if y.requires_grad:
                term = (y * Tensor(g)).sum() if g is not None else y.sum()
                loss = term if loss is None else loss + term
        if loss is not None:
            loss.backward()

    fwd = best_time(forward, runs)
    return fwd, max(0.0, best_time(backward, runs) - fwd)


def readable_memory_size(nbytes):
    """Keras's format: 215.04 KB (powers of 1024, two decimals)."""
    units = ["B", "KB", "MB", "GB", "TB", "PB"]
    for unit in units:
        if nbytes / 1024.0 < 1:
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024.0
    return f"{nbytes:.2f} {units[-1]}"


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


def box_table(header, rows, widths, align):
    """The lines of a box-drawn table (Keras 3's summary style); ``align``: "left" / "right" per column."""

    def border(left, fill, mid, right):
        return left + mid.join(fill * w for w in widths) + right

    def cells(values, sep):
        wrapped = [_wrap(v, w - 2) for v, w in zip(values, widths)]
        lines = []
        for i in range(max(len(c) for c in wrapped)):
            parts = [(c[i] if i < len(c) else "") for c in wrapped]
            parts = [" " + (t.rjust(w - 2) if a == "right" else t.ljust(w - 2)) + " "
                     for t, w, a in zip(parts, widths, align)]
            lines.append(sep + sep.join(parts) + sep)
        return lines

    out = [border("┏", "━", "┳", "┓"), *cells(header, "┃"), border("┡", "━", "╇", "┩")]
    for i, row in enumerate(rows):
        out += cells(row, "│")
        if i < len(rows) - 1:
            out.append(border("├", "─", "┼", "┤"))
    return out + [border("└", "─", "┴", "┘")]
