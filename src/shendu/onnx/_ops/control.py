"""Control flow: If, Loop and Scan run their body subgraphs with shendu's ops.

A body sees every value of the enclosing graph by name (ONNX's outer scope), so weights used inside
a loop still get gradients.
  If:   outputs = then_branch() if cond else else_branch()
  Loop: v ← body(i, cond, v) for i = 0 … M − 1 while cond; outputs = final v, then each scan output
        of the body stacked along a new first axis
  Scan: states s, slices xᵢ of the scan inputs along their axes: (s, yᵢ) = body(s, xᵢ); outputs =
        final s and the yᵢ stacked along ``scan_output_axes`` (reversed where a direction is 1).
"""
import numpy as np

from ... import ops
from . import register
from ._common import any_tensor, arr, is_tensor


def _run(ctx, graph, values):
    from .._import import run_graph
    env = dict(ctx.env)
    for name, value in zip(graph.input_names, values):
        env[name] = value
    return run_graph(graph, env, ctx.opset, ctx.training)


def _stack(values, axis=0):
    if any_tensor(*values):
        return ops.stack([v if is_tensor(v) else arr(v) for v in values], axis=axis)
    return np.stack([arr(v) for v in values], axis=axis)


@register("If", 1)
def _if(ctx, inputs, attrs):
    branch = attrs["then_branch"] if bool(arr(inputs[0]).reshape(-1)[0]) else attrs["else_branch"]
    return tuple(_run(ctx, branch, []))


@register("Loop", 1)
def _loop(ctx, inputs, attrs):
    body = attrs["body"]
    inputs = list(inputs) + [None] * (2 - len(inputs))
    trip = None if inputs[0] is None else int(arr(inputs[0]).reshape(-1)[0])
    cond = True if inputs[1] is None else bool(arr(inputs[1]).reshape(-1)[0])
    state = list(inputs[2:])
    n_state = len(state)
    scans = []
    i = 0
    while cond and (trip is None or i < trip):
        outs = _run(ctx, body, [np.array(i, np.int64), np.array(cond)] + state)
        cond = bool(arr(outs[0]).reshape(-1)[0])
        state = list(outs[1:1 + n_state])
        scans.append(outs[1 + n_state:])
        i += 1
    n_scan = len(body.output_names) - 1 - n_state
    stacked = [_stack([s[k] for s in scans]) if scans else np.zeros((0,), np.float32) for k in range(n_scan)]
    return tuple(state + stacked)


def _slice(x, axis, t):
    key = (slice(None),) * axis + (t,)
    return ops.getitem(x, key) if is_tensor(x) else arr(x)[key]


@register("Scan", 9)
def _scan(ctx, inputs, attrs):
    n_in = attrs["num_scan_inputs"]
    state, xs = list(inputs[:len(inputs) - n_in]), list(inputs[len(inputs) - n_in:])
    return _scan_core(ctx, attrs, state, xs, attrs.get("scan_input_directions"))


@register("Scan", 8, 8)
def _scan_8(ctx, inputs, attrs):
    """Scan-8: every value has a batch axis first (scanned along axis 1) and an optional first input
    ``sequence_lens``; the body runs per batch entry."""
    inputs = list(inputs)
    lens = inputs.pop(0) if inputs else None
    n_in = attrs["num_scan_inputs"]
    state, xs = inputs[:len(inputs) - n_in], inputs[len(inputs) - n_in:]
    batch = arr(xs[0]).shape[0]
    if lens is not None and (arr(lens) != arr(xs[0]).shape[1]).any():
        raise NotImplementedError("Scan-8 with sequence_lens shorter than the sequences is not supported")
    per_batch = []
    for b in range(batch):
        sb = [_slice(v, 0, b) for v in state]
        xb = [_slice(v, 0, b) for v in xs]
        per_batch.append(_scan_core(ctx, attrs, sb, xb, attrs.get("directions")))
    return tuple(_stack([outs[k] for outs in per_batch]) for k in range(len(per_batch[0])))


def _scan_core(ctx, attrs, state, xs, in_dirs):
    body = attrs["body"]
    n_in = len(xs)
    in_axes = [a % arr(x).ndim for a, x in zip(attrs.get("scan_input_axes") or [0] * n_in, xs)]
    in_dirs = in_dirs or [0] * n_in
    T = arr(xs[0]).shape[in_axes[0]]
    n_out = len(body.output_names) - len(state)
    ys = [[] for _ in range(n_out)]
    for t in range(T):
        slices = [_slice(x, a, T - 1 - t if d else t) for x, a, d in zip(xs, in_axes, in_dirs)]
        outs = _run(ctx, body, state + slices)
        state = list(outs[:len(state)])
        for k, y in enumerate(outs[len(state):]):
            ys[k].append(y)
    out_axes = attrs.get("scan_output_axes") or [0] * n_out
    out_dirs = attrs.get("scan_output_directions") or [0] * n_out
    stacked = []
    for k in range(n_out):
        seq = ys[k][::-1] if out_dirs[k] else ys[k]
        rank = arr(seq[0]).ndim + 1
        stacked.append(_stack(seq, axis=out_axes[k] % rank))
    return tuple(state + stacked)

