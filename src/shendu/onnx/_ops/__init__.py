"""The ONNX operators shendu's importer runs, registered by opset version range.

``REGISTRY[op_type]`` is a list of ``(since_version, until_version, impl)``: ``impl`` runs the op for
every model whose default-domain opset lies in ``since_version … until_version`` (``None``: no upper
end yet). An op whose meaning changed between versions (Softmax at 13, ReduceSum's axes at 13, Split
at 18, ...) has one entry per meaning, so a model of any opset from 9 to 21 finds the right one.

Each ``impl(ctx, inputs, attrs)`` gets the node's inputs (``None`` for an omitted optional one) and its
attributes as plain Python values and returns one output or a tuple of them. Values are shendu Tensors
wherever they carry floats that may need a gradient, and NumPy arrays for everything else (shapes,
indices, masks, constants), so shape arithmetic never enters the autograd graph.
"""
REGISTRY = {}


def register(op_type, since=1, until=None):
    """Decorator: ``impl`` runs ``op_type`` for opsets ``since … until`` (inclusive)."""
    def deco(impl):
        REGISTRY.setdefault(op_type, []).append((since, until, impl))
        REGISTRY[op_type].sort(key=lambda entry: entry[0])
        return impl
    return deco


def lookup(op_type, opset):
    """The implementation of ``op_type`` for a model of default-domain opset ``opset``, or None."""
    for since, until, impl in REGISTRY.get(op_type, ()):
        if since <= opset and (until is None or opset <= until):
            return impl
    return None


def supported():
    """``{op_type: [(since, until), ...]}`` for every registered op, sorted by name."""
    return {op: [(s, u) for s, u, _ in REGISTRY[op]] for op in sorted(REGISTRY)}


def op_table(floor=9):
    """The registry as markdown table rows ``| Op | opsets |`` (ranges start at ``floor``, the oldest
    opset a model runs at after lifting)."""
    rows = []
    for op, ranges in supported().items():
        parts = []
        for since, until in ranges:
            since = max(since, floor)
            if until is not None and until < since:
                continue
            if until is None:
                parts.append(f"{since}+")
            else:
                parts.append(f"{since}" if since == until else f"{since}–{until}")
        rows.append(f"| {op} | {', '.join(parts)} |")
    return rows


from . import activation, attention, control, elementwise, indexing, loss, nn, reduce, resize, rnn, shape  # noqa: E402,F401  (they fill REGISTRY)
