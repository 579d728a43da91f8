"""Numerical gradient checking: autograd against central differences, in float64."""
import numpy as np

from .autograd import enable_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree."""


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check ``fn``'s gradients with central differences; return True or raise ``GradcheckError``.

    Every floating-point input is copied to float64 and marked ``requires_grad``. The outputs are
    projected onto a fixed random direction r, L = Σ r ⊙ fn(x), and for each input element
    ∂L/∂xᵢ ≈ (L(x + ε eᵢ) − L(x − ε eᵢ)) / 2ε is compared with what ``backward`` produced:
    |analytic − numeric| ≤ atol + rtol·|numeric|. The error names the input and its worst element.
    """
    xs = [Tensor(np.array(np.asarray(x), dtype=np.float64), requires_grad=True)
          if np.asarray(x).dtype.kind == "f" else x for x in inputs]
    rng = np.random.default_rng(seed)
    with enable_grad():
        outs = fn(*xs)
        outs = outs if isinstance(outs, (tuple, list)) else (outs,)
        outs = [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]
        dirs = [rng.standard_normal(o.shape) for o in outs]

        def project(values):
            return sum(float(np.sum(np.asarray(v, dtype=np.float64) * d)) for v, d in zip(values, dirs))

        loss = None
        for o, d in zip(outs, dirs):
            term = (o * Tensor(d)).sum()
            loss = term if loss is None else loss + term
        if loss is None or not loss.requires_grad:
            raise GradcheckError("gradcheck: the function's output does not depend on any input that "
                                 "requires grad")
        loss.backward()

    for k, x in enumerate(xs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            continue
        analytic = np.zeros(x.shape) if x.grad is None else x.grad.numpy()
        numeric = np.zeros(x.shape)
        a = x.array  # perturbed in place, element by element (any memory layout: no flattened copy)
        for i in np.ndindex(a.shape):
            orig = a[i]
            a[i] = orig + eps
            plus = project(_outputs(fn, xs))
            a[i] = orig - eps
            minus = project(_outputs(fn, xs))
            a[i] = orig
            numeric[i] = (plus - minus) / (2 * eps)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(err > 0):
            worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), x.shape))
            raise GradcheckError(
                f"gradcheck failed for input {k} (shape {tuple(x.shape)}) at element {worst}: "
                f"autograd gave {analytic[worst]:.8g}, central differences give {numeric[worst]:.8g} "
                f"(atol={atol}, rtol={rtol})"
            )
    return True


def _outputs(fn, xs):
    from .autograd import no_grad

    with no_grad():
        outs = fn(*xs)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    return [o.array for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]
