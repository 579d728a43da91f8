"""Reverse-mode automatic differentiation.

Every operation is a :class:`Function` with a ``forward`` on arrays and a ``backward`` that maps
the gradient of the output to gradients of the inputs (the vector-Jacobian product). Calling
``Op.apply(...)`` runs ``forward`` and, when an input requires a gradient, records the node in a
graph built as the program runs (define-by-run). ``Tensor.backward()`` walks that graph once, in
reverse topological order, without recursion.
"""
import contextlib
import functools
import threading

from .backend import xp
from .errors import ShapeError
from .tensor import Tensor


class _GradState(threading.local):
    """Grad mode, one value per thread (as in PyTorch): every new thread starts with recording on,
    and ``no_grad()`` in one thread never turns recording off in another."""

    enabled = True


_state = _GradState()


def is_grad_enabled():
    """True when operations are being recorded for differentiation (in the calling thread)."""
    return _state.enabled


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled):
        self.enabled = enabled
        self._prev = {}  # thread id -> stack of the modes to restore

    def __enter__(self):
        # a stack per thread, so one instance may be entered again (a decorated recursive function,
        # or a decorated function run by several threads): each exit restores its own thread's mode
        self._prev.setdefault(threading.get_ident(), []).append(_state.enabled)
        _state.enabled = self.enabled

    def __exit__(self, *exc):
        me = threading.get_ident()
        stack = self._prev[me]
        _state.enabled = stack.pop()
        if not stack:
            del self._prev[me]
        return False


def no_grad():
    """Context manager (and decorator) in which nothing is recorded for backward."""
    return _GradMode(False)


def enable_grad():
    """Context manager (and decorator) that turns recording back on inside ``no_grad``."""
    return _GradMode(True)


def set_grad_enabled(mode):
    """Context manager that sets recording on or off."""
    return _GradMode(bool(mode))


class Function:
    """One differentiable operation.

    Subclasses implement ``forward(self, *arrays, **attrs) -> array or tuple of arrays`` and
    ``backward(self, *grad_outputs) -> gradient for each input (None where there is none)``.
    Anything ``backward`` needs from the forward pass is stored on ``self``. After ``apply``,
    the node keeps ``inputs`` (what it was called with) and ``attrs`` (its keyword arguments),
    which is all a graph walker or an exporter needs.
    """

    inputs = ()
    attrs = None
    needs_grad = ()
    edges = ()
    # What backward reads back from the forward pass, for the in-place check: ``saves_inputs`` is
    # True (the arrays of all tensor inputs), a tuple of input positions, or () (none);
    # ``saves_output`` says whether the output array itself is kept (``Exp``: dz/da = z).
    saves_inputs = True
    saves_output = False
    _versions = ()
    _out_versions = ()
    # ``views_input``: the output may be a view of input 0's memory (reshape, transpose, basic
    # indexing); such an output shares input 0's version counter, as PyTorch's views do.
    views_input = False

    @classmethod
    def apply(cls, *inputs, **attrs):
        fn = cls()
        arrays = [x.array if isinstance(x, Tensor) else x for x in inputs]
        try:
            out = fn.forward(*arrays, **attrs)
        except ShapeError:
            raise
        except ValueError as exc:
            if not any(w in str(exc) for w in ("shape", "broadcast", "dimension", "size")):
                raise
            shapes = ", ".join(str(tuple(getattr(a, "shape", ()))) for a in arrays)
            raise ShapeError(f"{cls.__name__}: {exc} (input shapes: {shapes})") from exc
        record = _state.enabled and any(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        if record:
            fn.inputs = inputs
            fn.attrs = attrs
            # where each input's gradient goes is fixed now: an in-place op may later give the
            # input tensor a new grad_fn, which must not reroute this node's gradients
            edges = [(x.grad_fn, x._output_index) if isinstance(x, Tensor) and x.requires_grad else None
                     for x in inputs]
            fn.edges = edges
            fn.needs_grad = [e is not None for e in edges]
            saved = cls.saves_inputs
            if saved:
                fn._versions = _versions_of(inputs, saved)
        if isinstance(out, tuple):
            outs = tuple(Tensor._from_op(o, fn if record else None, i) for i, o in enumerate(out))
            if record:
                fn.n_outputs = len(outs)
                fn.output_meta = [(o.shape, o.dtype) for o in outs]
                if cls.saves_output:
                    fn._out_versions = [_new_counter(o) for o in outs]
            if cls.views_input:
                for o in outs:
                    _share_storage(o, inputs[0], record)
            return outs
        t = Tensor._from_op(out, fn if record else None, 0)
        if record:
            fn.n_outputs = 1
            if cls.saves_output:
                fn._out_versions = (_new_counter(t),)
                fn.output_meta = [(t.shape, t.dtype)]
        if cls.views_input:
            _share_storage(t, inputs[0], record)
        return t

    def forward(self, *arrays, **attrs):
        raise NotImplementedError

    def backward(self, *grad_outputs):
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__}>"


def _versions_of(inputs, saved):
    """(position, version counter, version now) of each saved tensor input."""
    out = []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and (saved is True or i in saved):
            vc = x._vc
            if vc is None:
                vc = x._vc = [0]
            out.append((i, vc, vc[0]))
    return out


def _share_storage(out, base, record):
    if isinstance(base, Tensor) and xp.may_share_memory(out.array, base.array):
        vc = base._vc
        if vc is None:
            vc = base._vc = [0]
        out._vc = vc
        if record:
            out._view_of_graph = True


def _new_counter(t):
    vc = t._vc = [0]
    return vc


def _check_versions(fn):
    """Raise when an array that ``fn.backward`` reads was changed in place after the forward pass."""
    for i, vc, v in fn._versions:
        if vc[0] != v:
            x = fn.inputs[i]
            _modified(fn, f"input {i}", x.shape, x.dtype, vc[0], v)
    for i, vc in enumerate(fn._out_versions):
        if vc[0] != 0:
            shape, dtype = fn.output_meta[i]
            _modified(fn, f"output {i}", shape, dtype, vc[0], 0)


def _modified(fn, which, shape, dtype, now, expected):
    raise RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {which} of {type(fn).__name__} (a tensor of shape {tuple(shape)}, dtype {dtype}) "
        f"is at version {now}; expected version {expected} "
        f"instead. Compute it out of place (y = x + 1 rather than x += 1 or x.add_(1)), or clone() it "
        f"before changing it in place.")


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of broadcasting ``shape`` up to ``grad.shape``."""
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _topological_order(root_fn):
    """Functions reachable from ``root_fn``, each after every function that consumes its output."""
    order, visited, stack = [], set(), [(root_fn, False)]
    while stack:
        fn, done = stack.pop()
        if done:
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        stack.append((fn, True))
        for e in fn.edges if fn.inputs is not None else ():
            if e is not None and e[0] is not None and id(e[0]) not in visited:
                stack.append((e[0], False))
    order.reverse()
    return order


def backward(tensor, grad=None, retain_graph=False):
    """Accumulate d(tensor)/d(leaf) into ``leaf.grad`` for every leaf that requires a gradient."""
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward() was called on a tensor that does not require grad: nothing that produced it "
            "has requires_grad=True (create parameters with requires_grad=True, and call backward "
            "outside no_grad())."
        )
    if grad is None:
        if tensor.array.size != 1:
            raise RuntimeError(
                f"backward() without a gradient works only for a single-element (scalar) output, but "
                f"this tensor has shape {tuple(tensor.shape)}; reduce it first (e.g. loss.mean()) or "
                f"pass a gradient of the same shape: t.backward(gradient)."
            )
        grad = xp.ones_like(tensor.array)
    else:
        grad = grad.array if isinstance(grad, Tensor) else xp.asarray(grad, dtype=tensor.dtype)
        if grad.shape != tensor.shape:
            raise ShapeError(f"backward(): gradient shape {grad.shape} does not match tensor shape "
                             f"{tuple(tensor.shape)}")
    if tensor.grad_fn is None:
        _accumulate_leaf(tensor, grad, set())
        return
    pending = {id(tensor.grad_fn): [None] * tensor.grad_fn.n_outputs}
    pending[id(tensor.grad_fn)][tensor._output_index] = grad
    stored = set()
    for fn in _topological_order(tensor.grad_fn):
        grads_out = pending.pop(id(fn), None)
        if grads_out is None:
            continue
        if fn.inputs is None:
            raise RuntimeError(
                "backward() went through part of the graph a second time, but that graph was freed "
                "after the first backward(); pass retain_graph=True to the first call if you need this."
            )
        if fn._versions or fn._out_versions:
            _check_versions(fn)
        if fn.n_outputs == 1:
            grads_in = fn.backward(grads_out[0])
        else:
            grads_out = [g if g is not None else xp.zeros(s, d) for g, (s, d) in
                         zip(grads_out, fn.output_meta)]
            grads_in = fn.backward(*grads_out)
        if not isinstance(grads_in, tuple):
            grads_in = (grads_in,)
        for t, e, g in zip(fn.inputs, fn.edges, grads_in):
            if e is None or g is None:
                continue
            src, i = e
            if src is None:
                _accumulate_leaf(t, g, stored)
            else:
                slot = pending.get(id(src))
                if slot is None:
                    slot = pending[id(src)] = [None] * src.n_outputs
                slot[i] = g if slot[i] is None else slot[i] + g
        if not retain_graph:
            fn.inputs = None


def _accumulate_leaf(t, g, stored):
    if g.dtype != t.array.dtype:
        g = g.astype(t.array.dtype)
    if g.shape != t.array.shape:
        g = unbroadcast(g, t.array.shape)
    if t.grad is None:
        if id(g) in stored or not g.flags.writeable or g.base is not None:
            g = g.copy()
        stored.add(id(g))
        t.grad = Tensor(g)
    else:
        t.grad.array = t.grad.array + g


def grad_mode_decorator(enabled):
    def wrap(f):
        @functools.wraps(f)
        def inner(*a, **k):
            with _GradMode(enabled):
                return f(*a, **k)
        return inner
    return wrap
