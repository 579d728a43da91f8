"""Reverse-mode automatic differentiation.

Every operation is a :class:`Function` with a ``forward`` on arrays and a ``backward`` that maps
the gradient of the output to gradients of the inputs (the vector-Jacobian product). Calling
``Op.apply(...)`` runs ``forward`` and, when an input requires a gradient, records the node in a
graph built as the program runs (define-by-run). ``Tensor.backward()`` walks that graph once, in
reverse topological order, without recursion.
"""
import contextlib
import functools
import inspect
import threading
import weakref

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
    edges = ()  # (grad_fn, output index) of each input that requires grad, fixed when recorded
    # What backward reads back from the forward pass, for the in-place check: ``saves_inputs`` is
    # True (the arrays of all tensor inputs), a tuple of input positions, or () (none);
    # ``saves_output`` says whether the output array itself is kept (``Exp``: dz/da = z).
    saves_inputs = True
    saves_output = False
    # ``keeps_inputs = False``: backward (and backward_graph) read nothing from ``inputs``, so the node
    # records the intermediate ones as :class:`_InputRef` (grad_fn, shape, dtype; no array). Their
    # arrays are then freed as soon as the forward pass drops them, as in PyTorch, whose nodes point
    # to the producers of their inputs, not to the inputs (ReLU after BatchNorm, a residual sum).
    keeps_inputs = True
    _versions = ()
    _out_versions = ()
    # ``views_input``: the output may be a view of input 0's memory (reshape, transpose, basic
    # indexing); such an output shares input 0's version counter, as PyTorch's views do.
    views_input = False
    _out_hooks = None  # {output index: hooks of that output tensor}, set by Tensor.register_hook

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # PyTorch-style subclasses (``@staticmethod def forward(ctx, ...)``) get their own apply, so the
        # instance-method protocol of shendu's operations keeps its path untouched
        static = isinstance(inspect.getattr_static(cls, "forward", None), staticmethod)
        if static and "apply" not in cls.__dict__:
            cls.apply = classmethod(_apply_ctx)

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
        record = False
        if _state.enabled:
            for x in inputs:
                if isinstance(x, Tensor) and x.requires_grad:
                    record = True
                    break
        if not record and type(out) is xp.ndarray:     # the common unrecorded call: one plain output
            t = _new_tensor(Tensor)
            t.array = out
            t.grad = t.grad_fn = None
            t._output_index = 0
            t.requires_grad = False
            if cls.views_input:
                _share_storage(t, inputs[0], False)
            return t
        if record:
            fn.inputs = inputs if cls.keeps_inputs else tuple(
                _InputRef(x) if isinstance(x, Tensor) and x.grad_fn is not None else x for x in inputs)
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

    def backward_graph(self, *grad_outputs):
        """The same vector-Jacobian product as ``backward``, written with shendu operations on Tensors
        (grad mode on), so that ``create_graph=True`` records it and it can be differentiated again.
        ``self.inputs`` holds the Tensors the operation was called with."""
        raise RuntimeError(f"create_graph: {type(self).__name__} does not support higher-order gradients yet")

    def __repr__(self):
        return f"<{type(self).__name__}>"


_new_tensor = object.__new__


class _InputRef:
    """What a ``keeps_inputs = False`` node records of an input that an operation produced: where its
    gradient goes and what it looked like, not its array."""

    __slots__ = ("grad_fn", "_output_index", "shape", "dtype", "requires_grad")

    def __init__(self, t):
        self.grad_fn, self._output_index = t.grad_fn, t._output_index
        self.shape, self.dtype, self.requires_grad = tuple(t.shape), t.dtype, t.requires_grad

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<input of shape {self.shape}, dtype {self.dtype}, from {self.grad_fn!r}>"


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
    """Sum ``grad`` down to ``shape``: the adjoint of broadcasting ``shape`` up to ``grad.shape``.

    Works on arrays (the first-order backward) and on Tensors (``create_graph=True``, as ``sum_to``)."""
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
    return _grad_fns_in_order([root_fn])


def backward(tensor, grad=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensor)/d(leaf) into ``leaf.grad`` for every leaf that requires a gradient.

    ``create_graph=True`` records the backward pass itself, so the gradients can be differentiated
    again; ``inputs`` restricts the accumulation to those tensors.
    """
    if create_graph or inputs is not None:
        return _backward_general(tensor, grad, retain_graph, create_graph, inputs)
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
        if tensor._hooks is not None:
            grad = _run_leaf_hooks(tensor, grad, False)
        _accumulate_leaf(tensor, grad, set())
        return
    pending = {id(tensor.grad_fn): [None] * tensor.grad_fn.n_outputs}
    pending[id(tensor.grad_fn)][tensor._output_index] = grad
    stored, hooked = set(), {}
    for fn in _topological_order(tensor.grad_fn):
        grads_out = pending.pop(id(fn), None)
        if grads_out is None:
            continue
        if fn.inputs is None:
            raise RuntimeError(_FREED)
        if fn._versions or fn._out_versions:
            _check_versions(fn)
        if fn._out_hooks is not None:
            grads_out = _run_output_hooks(fn, grads_out, False)
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
                if t._hooks is None:
                    _accumulate_leaf(t, g, stored)
                else:
                    held = hooked.get(id(t))
                    hooked[id(t)] = (t, g if held is None else held[1] + g)
            else:
                slot = pending.get(id(src))
                if slot is None:
                    slot = pending[id(src)] = [None] * src.n_outputs
                slot[i] = g if slot[i] is None else slot[i] + g
        if not retain_graph:
            _release(fn)
    for t, g in hooked.values():
        _accumulate_leaf(t, _run_leaf_hooks(t, g, False), stored)


def _release(fn):
    """Free what a node kept for its backward once that backward has run (no ``retain_graph``), as
    PyTorch frees saved tensors: the node stays in the graph (edges, attributes, hooks) but its input
    Tensors and every array or Tensor stored on it are dropped. Otherwise a training loop's previous
    graph (``loss`` of the last step) would hold all of that step's saved activations while the next
    forward pass allocates its own."""
    fn.inputs = None
    d = fn.__dict__
    for k, v in d.items():
        if isinstance(v, _HELD):
            d[k] = None
        elif type(v) in (tuple, list) and k not in _ENGINE_LISTS and any(isinstance(e, _HELD) for e in v):
            d[k] = () if k == "_saved" else None


_HELD = (xp.ndarray, Tensor)                               # what _release drops
_ENGINE_LISTS = frozenset(("edges", "needs_grad", "_versions", "_out_versions"))  # no arrays in them


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


_FREED = ("backward() went through part of the graph a second time, but that graph was freed after "
          "the first backward(); pass retain_graph=True to the first call if you need this.")


# ----- hooks on tensors ---------------------------------------------------------------------------
class RemovableHandle:
    """Returned by ``register_hook``; ``handle.remove()`` unregisters the hook (also a context manager)."""

    _next = 0

    def __init__(self, hooks):
        RemovableHandle._next += 1
        self.id = RemovableHandle._next
        self._hooks = weakref.ref(hooks)

    def remove(self):
        hooks = self._hooks()
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _HookDict(dict):
    """Hooks of one tensor, in registration order (a dict subclass so a handle can hold a weak reference)."""


def _tensor_hooks(t, create=True):
    """The hook dict of tensor ``t``: on the tensor for a leaf, on its grad_fn (per output) otherwise."""
    if t.grad_fn is None:
        if t._hooks is None and create:
            t._hooks = _HookDict()
        return t._hooks
    fn = t.grad_fn
    if fn._out_hooks is None:
        if not create:
            return None
        fn._out_hooks = {}
    hooks = fn._out_hooks.get(t._output_index)
    if hooks is None and create:
        hooks = fn._out_hooks[t._output_index] = _HookDict()
    return hooks


def register_hook(t, hook):
    """``hook(grad) -> Tensor or None`` runs when the gradient of ``t`` has been computed; a returned
    tensor replaces that gradient. Returns a handle whose ``remove()`` unregisters it."""
    if not t.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad "
                           "(set requires_grad=True, or register it on a tensor computed from one)")
    hooks = _tensor_hooks(t)
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def retain_grad(t):
    """Make the non-leaf ``t`` keep its gradient in ``t.grad`` after ``backward()`` (leaves always do)."""
    if not t.requires_grad:
        raise RuntimeError("retain_grad: cannot retain the gradient of a tensor that does not require grad")
    if t.grad_fn is None:
        return
    hooks = _tensor_hooks(t)
    if "retain" not in hooks:
        ref = weakref.ref(t)

        def keep(g):
            target = ref()
            if target is None:
                return
            if isinstance(g, Tensor):
                target.grad = g if target.grad is None else target.grad + g
            else:
                target.grad = Tensor(g.copy()) if target.grad is None else Tensor(target.grad.numpy() + g)

        hooks["retain"] = keep


def _run_hooks(hooks, g, as_tensor):
    for key, hook in list(hooks.items()):
        if key == "retain":
            continue
        new = hook(g if as_tensor else Tensor(g))
        if new is not None:
            if as_tensor:
                g = new if isinstance(new, Tensor) else Tensor(xp.asarray(new, dtype=g.dtype))
            else:
                g = new.numpy() if isinstance(new, Tensor) else xp.asarray(new, dtype=g.dtype)
    keep = hooks.get("retain")
    if keep is not None:
        keep(g)
    return g


def _run_output_hooks(fn, grads_out, as_tensor):
    grads_out = list(grads_out)
    for i, hooks in fn._out_hooks.items():
        if hooks and grads_out[i] is not None:
            grads_out[i] = _run_hooks(hooks, grads_out[i], as_tensor)
    return grads_out


def _run_leaf_hooks(t, g, as_tensor):
    return _run_hooks(t._hooks, g, as_tensor) if t._hooks else g


# ----- the general engine: create_graph, autograd.grad, backward(inputs=...) ----------------------
# The Tensor form of unbroadcast (differentiable): the same sums, done with Tensor ops when ``g``
# is a Tensor, since Tensors answer ndim, shape, sum(axis, keepdims) and reshape as arrays do.
sum_to = unbroadcast


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _grad_fns_in_order(roots):
    """Functions reachable from the ``roots`` Functions, each before every function producing its inputs."""
    order, visited = [], set()
    stack = [(fn, False) for fn in reversed(roots)]
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


def _engine(roots, retain_graph, create_graph, targets=None):
    """Run backward from ``roots`` [(tensor, gradient)], gradients arrays or (create_graph) Tensors.

    Without ``targets`` every leaf that requires grad accumulates into ``.grad``. With ``targets``
    (a list of tensors) nothing is accumulated and only the part of the graph leading to them is
    visited; the summed gradient of each target is returned (None where none reached it).
    """
    as_tensor = create_graph
    found = {}
    if targets is not None:
        leaf_keys = {id(t) for t in targets if t.grad_fn is None}
        out_keys = {(id(t.grad_fn), t._output_index) for t in targets if t.grad_fn is not None}
        out_fns = {k[0] for k in out_keys}

    def add(a, b):
        return b if a is None else a + b

    pending, leaves = {}, {}
    for t, g in roots:
        if t.grad_fn is None:
            if targets is None or id(t) in leaf_keys:
                held = leaves.get(id(t))
                leaves[id(t)] = (t, add(None if held is None else held[1], g))
            continue
        slot = pending.setdefault(id(t.grad_fn), [None] * t.grad_fn.n_outputs)
        slot[t._output_index] = add(slot[t._output_index], g)
    order = _grad_fns_in_order([t.grad_fn for t, _ in roots if t.grad_fn is not None])
    needed = None
    if targets is not None:
        needed = set()
        for fn in reversed(order):  # producers first
            for t, e in zip(fn.inputs or (), fn.edges):
                if e is None:
                    continue
                if (e[0] is None and id(t) in leaf_keys) or (e[0] is not None and (
                        id(e[0]) in needed or (id(e[0]), e[1]) in out_keys)):
                    needed.add(id(fn))
                    break
    with _GradMode(create_graph):
        for fn in order:
            grads_out = pending.pop(id(fn), None)
            if grads_out is None:
                continue
            if fn.inputs is None:
                raise RuntimeError(_FREED)
            if fn._versions or fn._out_versions:
                _check_versions(fn)
            if fn._out_hooks is not None:
                grads_out = _run_output_hooks(fn, grads_out, as_tensor)
            if targets is not None:
                if id(fn) in out_fns:
                    for i, g in enumerate(grads_out):
                        if (id(fn), i) in out_keys and g is not None:
                            found[(id(fn), i)] = g
                if id(fn) not in needed:
                    continue
            if fn.n_outputs == 1:
                grads_in = (fn.backward_graph if as_tensor else fn.backward)(grads_out[0])
            else:
                if as_tensor:
                    grads_out = [g if g is not None else Tensor(xp.zeros(s, d)) for g, (s, d) in
                                 zip(grads_out, fn.output_meta)]
                    grads_in = fn.backward_graph(*grads_out)
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
                    if targets is None or id(t) in leaf_keys:
                        held = leaves.get(id(t))
                        leaves[id(t)] = (t, add(None if held is None else held[1], g))
                else:
                    slot = pending.get(id(src))
                    if slot is None:
                        slot = pending[id(src)] = [None] * src.n_outputs
                    slot[i] = add(slot[i], g)
            if not retain_graph:
                _release(fn)
        for key, (t, g) in leaves.items():
            if t._hooks:
                g = _run_hooks(t._hooks, g, as_tensor)
            if targets is not None:
                found[key] = g
            elif as_tensor:
                _accumulate_leaf_tensor(t, g)
            else:
                _accumulate_leaf(t, g, set())
    if targets is None:
        return None
    return [found.get(id(t) if t.grad_fn is None else (id(t.grad_fn), t._output_index)) for t in targets]


def _accumulate_leaf_tensor(t, g):
    if g.dtype != t.dtype:
        g = g.to(t.dtype)
    if tuple(g.shape) != tuple(t.shape):
        g = sum_to(g, t.shape)
    t.grad = g if t.grad is None else t.grad + g


def _root_gradient(t, g, as_tensor, where):
    if g is None:
        if t.numel() != 1:
            raise RuntimeError(
                f"{where}: a gradient can be created implicitly only for a single-element (scalar) output, "
                f"but this output has shape {tuple(t.shape)}; pass grad_outputs of the same shape.")
        g = xp.ones(t.shape, t.dtype)
    elif isinstance(g, Tensor):
        if tuple(g.shape) != tuple(t.shape):
            raise ShapeError(f"{where}: gradient shape {tuple(g.shape)} does not match output shape "
                             f"{tuple(t.shape)}")
        return g if as_tensor else g.numpy()
    else:
        g = xp.asarray(g, dtype=t.dtype)
        if g.shape != tuple(t.shape):
            raise ShapeError(f"{where}: gradient shape {g.shape} does not match output shape "
                             f"{tuple(t.shape)}")
    return Tensor(g) if as_tensor else g


def _backward_general(tensor, grad, retain_graph, create_graph, inputs):
    if not tensor.requires_grad:
        raise RuntimeError("backward() was called on a tensor that does not require grad: nothing that "
                           "produced it has requires_grad=True.")
    retain = create_graph if retain_graph is None else retain_graph
    root = [(tensor, _root_gradient(tensor, grad, create_graph, "backward()"))]
    if inputs is None:
        _engine(root, retain, create_graph)
        return
    inputs = _as_tuple(inputs)
    for t, g in zip(inputs, _engine(root, retain, create_graph, targets=list(inputs))):
        if g is None:
            continue
        if t.grad_fn is not None and t.grad is None and not create_graph:
            t.grad = Tensor(g.copy())
        elif create_graph:
            _accumulate_leaf_tensor(t, g)
        else:
            _accumulate_leaf(t, g, set())


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as PyTorch's ``torch.autograd.grad``.

    Returns a tuple with one gradient per input (``.grad`` attributes are left alone). ``grad_outputs``
    are the vectors of the vector-Jacobian product (ones for scalar outputs by default).
    ``create_graph=True`` records the computation, so the result can be differentiated again
    (gradient penalties, Hessian-vector products); the graph is then kept unless ``retain_graph=False``.
    An input that does not influence the outputs is an error unless ``allow_unused=True`` (then its
    gradient is None, or zeros with ``materialize_grads=True``).
    """
    if is_grads_batched:
        raise NotImplementedError("grad: is_grads_batched=True is not supported; loop over the batch")
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    else:
        grad_outputs = _as_tuple(grad_outputs)
        if len(grad_outputs) != len(outputs):
            raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs; "
                             "give one each")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad (got "
                               f"{type(t).__name__}); differentiate only with respect to tensors with "
                               "requires_grad=True")
    roots = []
    for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(o, Tensor) or not o.requires_grad:
            raise RuntimeError(f"grad: output {i} does not require grad and has no grad_fn: it does not "
                               "depend on any tensor with requires_grad=True")
        roots.append((o, _root_gradient(o, g, create_graph, "grad")))
    retain = create_graph if retain_graph is None else retain_graph
    found = _engine(roots, retain, create_graph, targets=list(inputs))
    result = []
    for i, (t, g) in enumerate(zip(inputs, found)):
        if g is None:
            if materialize_grads:
                g = xp.zeros(t.shape, t.dtype)
            elif not allow_unused:
                raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) was not used to compute the "
                                   "outputs; pass allow_unused=True if that is expected")
        if g is not None:
            if not isinstance(g, Tensor):
                g = Tensor(g.copy() if not g.flags.writeable or g.base is not None else g)
            elif g.dtype != t.dtype:
                g = g.to(t.dtype)
            if tuple(g.shape) != tuple(t.shape):
                g = sum_to(g, t.shape)
        result.append(g)
    return tuple(result)


# ----- user-defined operations, the PyTorch way ----------------------------------------------------
class FunctionCtx:
    """The ``ctx`` a PyTorch-style :class:`Function` receives: ``forward(ctx, *args)`` stores what
    ``backward(ctx, *grads)`` needs with ``ctx.save_for_backward(*tensors)`` (read back as
    ``ctx.saved_tensors``) or as plain attributes; ``ctx.needs_input_grad[i]`` says whether input i
    needs a gradient."""

    _saved = ()
    _non_differentiable = ()
    materialize_grads = True

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward takes Tensors (or None), got {type(t).__name__}; "
                                "store other values as attributes of ctx")
        self._saved = tensors

    @property
    def saved_tensors(self):
        return tuple(self._saved)

    def mark_non_differentiable(self, *tensors):
        """Outputs that get no gradient (indices, masks): they come back with requires_grad=False."""
        self._non_differentiable = tuple(self._non_differentiable) + tensors

    def mark_dirty(self, *tensors):
        """Inputs modified in place by ``forward`` (recorded; shendu needs nothing more)."""
        self._dirty = tensors

    def set_materialize_grads(self, value):
        """With False, gradients of outputs that got none arrive in ``backward`` as None, not zeros."""
        self.materialize_grads = bool(value)


class _CtxNode(FunctionCtx, Function):
    """The graph node of one call of a PyTorch-style Function subclass; it is also that call's ctx."""

    def __init__(self, cls):
        self._cls = cls
        self.needs_input_grad = ()

    def __repr__(self):
        return f"<{self._cls.__name__}Backward>"

    def _grads_in(self, result, as_tensor):
        name = self._cls.__name__
        result = result if isinstance(result, tuple) else (result,)
        n = len(self.inputs)
        if len(result) < n or any(g is not None for g in result[n:]):
            raise RuntimeError(f"{name}.backward returned {len(result)} gradients but forward took {n} "
                               "inputs: return one per input (None for inputs that need none)")
        out = []
        for i, (x, need, g) in enumerate(zip(self.inputs, self.needs_grad, result)):
            if g is None or not need:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                g = Tensor(xp.asarray(g, dtype=x.dtype))
            if tuple(g.shape) != tuple(x.shape):
                try:
                    xp.broadcast_shapes(tuple(x.shape), tuple(g.shape))
                    if len(g.shape) < len(x.shape):
                        raise ValueError
                    g = sum_to(g, x.shape) if as_tensor else Tensor(unbroadcast(g.numpy(), tuple(x.shape)))
                except ValueError:
                    raise ShapeError(f"{name}.backward returned a gradient of shape {tuple(g.shape)} for "
                                     f"input {i}, which has shape {tuple(x.shape)}") from None
            out.append(g if as_tensor else g.numpy())
        return tuple(out)

    def _grads_out(self, grads, as_tensor):
        gs = []
        for g, is_tensor in zip(grads, self._tensor_outputs):
            if not is_tensor:
                gs.append(None)
            else:
                gs.append(g if as_tensor or g is None else Tensor(g))
        return gs

    def backward(self, *grads):
        with _GradMode(False):
            result = self._cls.backward(self, *self._grads_out(grads, False))
        return self._grads_in(result, False)

    def backward_graph(self, *grads):
        bwd = self._cls.backward
        if getattr(bwd, "_once_differentiable", False):
            with _GradMode(False):
                result = self._grads_in(bwd(self, *self._grads_out(grads, True)), True)
            parents = [g for g in grads if isinstance(g, Tensor) and g.requires_grad]
            parents += [t for t in self._saved if isinstance(t, Tensor) and t.requires_grad]
            if not parents:
                return result
            name = self._cls.__name__
            return tuple(None if g is None else _OnceDifferentiable.apply(g, *parents, name=name)
                         for g in result)
        with _GradMode(True):
            result = bwd(self, *self._grads_out(grads, True))
        return self._grads_in(result, True)


class _OnceDifferentiable(Function):
    """z = g (a gradient computed by a ``once_differentiable`` backward); differentiating it is an error."""

    def forward(self, g, *parents, name):
        self.name = name
        return g

    def backward(self, *grads):
        raise RuntimeError(f"{self.name}.backward is decorated with once_differentiable: its result cannot "
                           "be differentiated again (write the backward with shendu operations instead)")

    backward_graph = backward


def _apply_ctx(cls, *args, **kwargs):
    """``apply`` of a PyTorch-style Function subclass (static ``forward(ctx, …)``, ``backward(ctx, …)``)."""
    node = _CtxNode(cls)
    needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    node.needs_input_grad = needs
    setup = inspect.getattr_static(cls, "setup_context", None)
    with _GradMode(False):
        if setup is not None:
            out = cls.forward(*args, **kwargs)
            cls.setup_context(node, args, out)
        else:
            out = cls.forward(node, *args, **kwargs)
    if not (_state.enabled and any(needs)):
        return out
    is_tuple = isinstance(out, tuple)
    outs = list(out) if is_tuple else [out]
    skip = {id(t) for t in node._non_differentiable}
    arg_ids = {id(a) for a in args}
    replaced = {}
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor) or id(o) in skip or o.dtype.kind not in "fc":
            if isinstance(o, Tensor) and id(o) in skip and o.grad_fn is not None:
                outs[i] = o.detach()
            continue
        if id(o) in arg_ids or o.grad_fn is not None or o.requires_grad:
            new = Tensor._from_op(o.numpy(), node, i)
            replaced[id(o)] = new
            outs[i] = new
        else:
            o.grad_fn, o._output_index, o.requires_grad = node, i, True
    if replaced:
        node._saved = tuple(replaced.get(id(t), t) for t in node._saved)
    node.inputs, node.attrs, node.needs_grad = args, kwargs, needs
    node.edges = [(x.grad_fn, x._output_index) if need else None for x, need in zip(args, needs)]
    node.n_outputs = len(outs)
    node._tensor_outputs = [isinstance(o, Tensor) for o in outs]
    node.output_meta = [(tuple(o.shape), o.dtype) if isinstance(o, Tensor) else ((), xp.float64)
                        for o in outs]
    return tuple(outs) if is_tuple else outs[0]


def once_differentiable(backward):
    """Decorator for a PyTorch-style ``backward(ctx, *grads)`` that is not itself differentiable: it runs
    without recording, and differentiating its result (``create_graph=True``) raises a clear error."""

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with _GradMode(False):
            return backward(ctx, *grads)

    wrapper._once_differentiable = True
    return wrapper


import sys as _sys  # noqa: E402

from . import autograd_functional as functional  # noqa: E402  (shendu.autograd.functional)

_sys.modules[__name__ + ".functional"] = functional
# ``torch.autograd.function.once_differentiable`` / ``FunctionCtx`` live at this path in PyTorch
function = _sys.modules[__name__]
_sys.modules[__name__ + ".function"] = function
