"""``GradientTape``: TensorFlow's way of asking for gradients, on shendu's autograd.

    x = sd.tensor([3.0])
    with sd.GradientTape() as tape:
        tape.watch(x)                 # a constant is followed only when watched
        y = x * x
    tape.gradient(y, x)               # dy/dx = 2x = [6.]

shendu records every operation on tensors that require a gradient, so the tape records nothing of
its own: ``gradient(target, sources)`` is ``autograd.grad(sum(target), sources)`` with the answer
put back into the shape of ``sources`` (a tensor, a list, a tuple, a dict or any nesting of them).
As in TensorFlow, a non-scalar target is summed first (``d(sum_i y_i)/dx``), a source the target
does not depend on gets ``None`` (or zeros with ``unconnected_gradients="zero"``), and a tape that
is not ``persistent`` answers once.
"""
import contextlib

from .autograd import enable_grad, grad, no_grad
from .backend import xp
from .tensor import Tensor

__all__ = ["GradientTape"]


def _flatten(obj, out):
    """Leaves of a nested list / tuple / dict (dicts in key order), appended to ``out``."""
    if isinstance(obj, dict):
        for k in obj:
            _flatten(obj[k], out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _flatten(v, out)
    else:
        out.append(obj)
    return out


def _rebuild(obj, leaves):
    """``obj``'s nesting with its leaves replaced, in order, from the iterator ``leaves``."""
    if isinstance(obj, dict):
        return {k: _rebuild(obj[k], leaves) for k in obj}
    if isinstance(obj, (list, tuple)):
        items = [_rebuild(v, leaves) for v in obj]
        return items if isinstance(obj, list) else tuple(items)
    return next(leaves)


def _source(obj):
    """(tensors, convert) for one source: a Tensor, or an object that names the tensors it views (a
    Keras weight in Keras layout, maybe stacked from several tensors: ``_tape_source()`` returns them
    and the map of their gradients, in order, into the weight's layout)."""
    view = getattr(obj, "_tape_source", None)
    if view is not None:
        return view()
    if isinstance(obj, Tensor):
        return (obj,), None
    raise TypeError(f"GradientTape.gradient: a source must be a Tensor or a model variable, got "
                    f"{type(obj).__name__}")


class GradientTape:
    """Computes gradients of what was calculated inside ``with GradientTape() as tape:``.

    Args:
        persistent: allow several ``gradient`` calls (the graph is kept until the tape is dropped).
        watch_accessed_variables: accepted for TensorFlow code; weights (tensors with
            ``requires_grad=True``) are always followed.
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = bool(persistent)
        self.watch_accessed_variables = watch_accessed_variables
        self._watched = []
        self._used = False
        self._grad_ctx = None

    def __enter__(self):
        self._grad_ctx = enable_grad()
        self._grad_ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self._grad_ctx.__exit__(*exc)
        self._grad_ctx = None
        return False

    def watch(self, tensor):
        """Follow ``tensor`` (or every tensor of a list / dict) as if it were a weight."""
        for leaf in _flatten(tensor, []):
            for t in _source(leaf)[0]:
                if not t.requires_grad:
                    if t.grad_fn is not None:
                        raise ValueError("GradientTape.watch: this tensor was computed from others without a "
                                         "gradient; watch the tensor it was computed from")
                    t.requires_grad_(True)
            self._watched.append(leaf)

    def watched_variables(self):
        return list(self._watched)

    @contextlib.contextmanager
    def stop_recording(self):
        """Operations inside this block are not recorded (``no_grad``)."""
        with no_grad():
            yield

    def reset(self):
        """Forget what was watched (the recorded operations belong to the tensors, not the tape)."""
        self._watched = []

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """d(target)/d(source) for every source, in the nesting of ``sources``.

        ``target``: a tensor or a nest of tensors (summed); ``output_gradients``: the vector(s) of a
        vector-Jacobian product, one per target tensor (ones by default).
        """
        if self._used and not self.persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one set of "
                               "gradients (or jacobians); use GradientTape(persistent=True)")
        self._used = True
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(f"GradientTape.gradient: unconnected_gradients must be 'none' or 'zero', got "
                             f"{unconnected_gradients!r}")
        targets = [t for t in _flatten(target, []) if t is not None]
        outs = [t for t in _flatten(output_gradients, [])] if output_gradients is not None else None
        pairs = []
        for i, t in enumerate(targets):
            if not isinstance(t, Tensor) or not t.requires_grad:
                continue
            g = outs[i] if outs is not None else None
            if g is None:
                pairs.append(t.sum() if t.ndim else t)
            else:
                pairs.append((t * (g if isinstance(g, Tensor) else Tensor(xp.asarray(g, t.dtype)))).sum())
        leaves = _flatten(sources, [])
        resolved = [_source(s) for s in leaves]
        tensors = [t for ts, _ in resolved for t in ts]
        wanted = [t for t in tensors if t.requires_grad]
        found = {}
        if pairs and wanted:
            total = pairs[0]
            for p in pairs[1:]:
                total = total + p
            grads = grad(total, wanted, retain_graph=self.persistent, allow_unused=True)
            found = {id(t): g for t, g in zip(wanted, grads) if g is not None}
        result = []
        for ts, convert in resolved:
            gs = [found.get(id(t)) for t in ts]
            if all(g is None for g in gs) and unconnected_gradients == "none":
                result.append(None)
                continue
            arrays = [xp.zeros(t.shape, t.dtype) if g is None else g.array for t, g in zip(ts, gs)]
            if convert is None:
                result.append(gs[0] if gs[0] is not None else Tensor(arrays[0]))
            else:
                result.append(Tensor(xp.ascontiguousarray(convert(arrays))))
        if isinstance(sources, (list, tuple, dict)):
            return _rebuild(sources, iter(result))
        return result[0]

    def __repr__(self):
        return f"GradientTape(persistent={self.persistent})"
