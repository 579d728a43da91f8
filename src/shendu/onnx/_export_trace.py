"""Tracing for ONNX export: run a model once and write down every operation it performs.

While a trace is active (in the calling thread only), every ``Function.apply`` and every comparison of
Tensors is recorded as an :class:`Event` (the operation, its inputs, keyword arguments and outputs, and
the module path it ran in). Modules that have a whole-module ONNX form (the recurrent layers) are
recorded as one event; what they compute inside is not recorded.
"""
import threading

from ..autograd import Function
from ..nn.module import Module
from ..tensor import Tensor


class _State(threading.local):
    tracer = None


_state = _State()
_patch_lock = threading.Lock()
_patched = {"count": 0}


def is_tracing():
    return _state.tracer is not None


class Event:
    """One recorded operation: ``kind`` is "fn" (a Function), "cmp" (a comparison) or "mod" (a module)."""

    __slots__ = ("kind", "op", "inputs", "attrs", "outputs", "path", "module")

    def __init__(self, kind, op, inputs, attrs, outputs, path, module=None):
        self.kind, self.op, self.inputs, self.attrs = kind, op, inputs, attrs
        self.outputs, self.path, self.module = outputs, path, module

    def signature(self):
        return (self.kind, self.op if self.kind != "mod" else id(self.module), self.path, len(self.inputs))


class Tracer:
    def __init__(self, module_emitters, paths):
        self.events = []
        self.depth = 0  # > 0 inside a module recorded as a whole
        self.stack = []  # module paths, innermost last
        self.module_emitters = module_emitters
        self.paths = paths  # id(module) -> dotted path

    def path(self):
        return self.stack[-1] if self.stack else ""

    def record(self, kind, op, inputs, attrs, out, module=None):
        outs = out if isinstance(out, tuple) else (out,)
        self.events.append(Event(kind, op, tuple(inputs), dict(attrs), outs, self.path(), module))


def _flatten(obj):
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        out = []
        for o in obj:
            out.extend(_flatten(o))
        return out
    if isinstance(obj, dict):
        out = []
        for o in obj.values():
            out.extend(_flatten(o))
        return out
    return []


def _install():
    """Wrap ``Function.apply``, ``Tensor._compare`` and ``Module.__call__`` (once, for all tracers)."""
    with _patch_lock:
        _patched["count"] += 1
        if _patched["count"] > 1:
            return
        apply = Function.__dict__["apply"].__func__
        compare = Tensor._compare
        call = Module.__call__
        _patched["originals"] = (apply, compare, call)

        def traced_apply(cls, *inputs, **attrs):
            out = apply(cls, *inputs, **attrs)
            tr = _state.tracer
            if tr is not None and tr.depth == 0:
                tr.record("fn", cls, inputs, attrs, out)
            return out

        def traced_compare(self, o, f):
            out = compare(self, o, f)
            tr = _state.tracer
            if tr is not None and tr.depth == 0:
                tr.record("cmp", f.__name__, (self, o), {}, out)
            return out

        def traced_call(self, *args, **kwargs):
            tr = _state.tracer
            if tr is None or tr.depth > 0:
                return call(self, *args, **kwargs)
            path = tr.paths.get(id(self))
            if path is None:
                path = (tr.path() + "." if tr.path() else "") + type(self).__name__
            tr.stack.append(path)
            try:
                whole = tr.module_emitters.get(type(self)) if tr.module_emitters else None
                if whole is None:
                    for klass in type(self).__mro__:
                        if klass in tr.module_emitters:
                            whole = tr.module_emitters[klass]
                            break
                if whole is None:
                    return call(self, *args, **kwargs)
                tr.depth += 1
                try:
                    out = call(self, *args, **kwargs)
                finally:
                    tr.depth -= 1
                inputs = tuple(args) + tuple(kwargs.values())
                tr.events.append(Event("mod", type(self), inputs, {"_kwargs": tuple(kwargs)}, out,
                                       path, self))
                return out
            finally:
                tr.stack.pop()

        Function.apply = classmethod(traced_apply)
        Tensor._compare = traced_compare
        Module.__call__ = traced_call


def _uninstall():
    with _patch_lock:
        _patched["count"] -= 1
        if _patched["count"] > 0:
            return
        apply, compare, call = _patched.pop("originals")
        Function.apply = classmethod(apply)
        Tensor._compare = compare
        Module.__call__ = call


def trace(run, module_emitters, paths):
    """Call ``run()`` with recording on in this thread; return (its result, the Tracer)."""
    tracer = Tracer(module_emitters, paths)
    _install()
    prev = _state.tracer
    _state.tracer = tracer
    try:
        out = run()
    finally:
        _state.tracer = prev
        _uninstall()
    return out, tracer


flatten = _flatten
