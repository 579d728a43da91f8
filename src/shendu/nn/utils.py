"""Gradient clipping, flattening parameters to a vector, and L1/L2 penalties (``torch.nn.utils`` names).

Clipping works on the gradients after ``loss.backward()`` and before ``optimizer.step()``::

    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()

The penalties are added to the loss, so autograd differentiates them with everything else::

    loss = criterion(model(x), y) + nn.utils.l2_penalty(model.parameters(), 1e-4)

Note on weight decay: PyTorch's ``weight_decay=λ`` (SGD, Adam) adds λ·w to the gradient, which
is the gradient of the penalty λ/2·Σw². So ``l2_penalty(params, λ/2)`` reproduces
``weight_decay=λ`` for SGD; ``l2_penalty(params, λ)`` (the Keras ``l2(λ)`` convention) decays twice
as fast.
"""
import math

from .. import ops
from ..autograd import no_grad
from ..backend import xp
from ..errors import ShapeError
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters",
           "l1_penalty", "l2_penalty", "get_total_norm"]


def _param_list(parameters, where):
    """A list of Tensors from a Tensor, an iterable of Tensors, or a Module (its ``parameters()``)."""
    if isinstance(parameters, Tensor):
        return [parameters]
    if callable(getattr(parameters, "parameters", None)) and not isinstance(parameters, (list, tuple)):
        parameters = parameters.parameters()
    params = list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: expected Tensors (e.g. model.parameters()), got {type(p).__name__}")
    return params


def _norm(arr, norm_type):
    """The ``norm_type``-norm of all entries: (Σ|x|^p)^(1/p); max|x| for inf; the count of x≠0 for 0."""
    if arr.size == 0:
        return 0.0
    if norm_type == math.inf:
        return float(xp.max(xp.abs(arr)))
    if norm_type == -math.inf:
        return float(xp.min(xp.abs(arr)))
    if norm_type == 0:
        return float(xp.count_nonzero(arr))
    if norm_type == 2.0:
        flat = arr.ravel()
        return float(xp.sqrt(xp.dot(flat, flat)))
    if norm_type == 1.0:
        return float(xp.abs(arr).sum())
    return float((xp.abs(arr) ** norm_type).sum() ** (1.0 / norm_type))


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False):
    """The norm of the norms of ``tensors``' arrays: ‖(‖t₁‖, ‖t₂‖, ...)‖, the norm of all entries together."""
    norm_type = float(norm_type)
    arrays = [t.array if isinstance(t, Tensor) else xp.asarray(t) for t in tensors]
    if not arrays:
        return Tensor(xp.asarray(0.0, dtype=xp.float32))
    norms = xp.asarray([_norm(a, norm_type) for a in arrays], dtype=xp.float64)
    total = _norm(norms, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is {total}, so clipping "
                           "them is meaningless; set error_if_nonfinite=False to clip anyway")
    return Tensor(xp.asarray(total, dtype=arrays[0].dtype if arrays[0].dtype.kind == "f" else xp.float32))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    r"""Rescale the gradients so that their joint norm is at most ``max_norm``; return the norm before.

    All gradients are treated as one long vector g with norm N = ‖g‖_p (``norm_type`` p, ``inf``
    for the largest entry). When N > ``max_norm`` every gradient is multiplied by
    c = max_norm / (N + 1e-6) (PyTorch's formula, c clamped to 1), so the direction is kept and
    only the length shrinks. Each ``p.grad.array`` is **replaced** by the scaled array, never
    modified in place, so arrays shared elsewhere stay intact.

    Returns:
        the total norm N as a 0-d Tensor (useful to log exploding gradients).
    """
    params = _param_list(parameters, "clip_grad_norm_")
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total
    coef = float(max_norm) / (float(total.array) + 1e-6)
    if coef < 1.0 or math.isnan(coef):
        for g in grads:
            g.array = g.array * g.array.dtype.type(coef)
    return total


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient entry into [−clip_value, clip_value] (``p.grad.array`` is replaced)."""
    params = _param_list(parameters, "clip_grad_value_")
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for p in params:
        if p.grad is not None:
            p.grad.array = xp.clip(p.grad.array, -clip_value, clip_value)


def parameters_to_vector(parameters):
    """Concatenate the parameters, flattened, into one 1-D Tensor (differentiable, like PyTorch's)."""
    params = _param_list(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return ops.cat([p.reshape(-1) for p in params], dim=0)


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D Tensor ``vec`` into the parameters (the inverse of
    :func:`parameters_to_vector`). The parameters' arrays are overwritten in place, so optimizers
    and modules that hold them see the new values."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a shendu Tensor, got {type(vec).__name__}")
    params = _param_list(parameters, "vector_to_parameters")
    flat = vec.array.reshape(-1)
    needed = sum(p.array.size for p in params)
    if flat.size != needed:
        raise ShapeError(f"vector_to_parameters: vec has {flat.size} entries but the parameters hold "
                         f"{needed}")
    start = 0
    with no_grad():
        for p in params:
            n = p.array.size
            p.array[...] = flat[start:start + n].reshape(p.array.shape)
            start += n


def l1_penalty(parameters, weight):
    """weight · Σ|w| over all entries of all ``parameters`` (a Module, a Tensor or an iterable).

    A differentiable scalar Tensor: add it to the loss. Its gradient is weight·sign(w), which
    pushes small weights to exactly zero (sparsity), unlike L2.
    """
    params = _param_list(parameters, "l1_penalty")
    if not params:
        return Tensor(xp.asarray(0.0, dtype=xp.float32))
    total = params[0].abs().sum()
    for p in params[1:]:
        total = total + p.abs().sum()
    return total * float(weight)


def l2_penalty(parameters, weight):
    """weight · Σw² over all entries of all ``parameters`` (a Module, a Tensor or an iterable).

    A differentiable scalar Tensor: add it to the loss. Its gradient is 2·weight·w, so PyTorch's
    ``weight_decay=λ`` (which adds λ·w to the gradient) equals ``l2_penalty(params, λ/2)``.
    """
    params = _param_list(parameters, "l2_penalty")
    if not params:
        return Tensor(xp.asarray(0.0, dtype=xp.float32))
    total = (params[0] * params[0]).sum()
    for p in params[1:]:
        total = total + (p * p).sum()
    return total * float(weight)
