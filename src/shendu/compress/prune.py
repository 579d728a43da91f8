"""Magnitude pruning with a mask kept beside the weight (the names of ``torch.nn.utils.prune``).

Pruning ``module.weight`` replaces the parameter by two tensors and one attribute:

- ``weight_orig`` — the learned values, still a Parameter (the optimizer updates it);
- ``weight_mask`` — a buffer of 0s and 1s (1 = kept);
- ``weight = weight_orig ⊙ weight_mask`` — recomputed by a forward pre-hook before every call.

Because ``weight`` is a product, the chain rule masks the gradient too:
∂L/∂weight_orig = ∂L/∂weight ⊙ mask, so pruned entries stay pruned while the rest fine-tune.
:func:`remove` makes it permanent: ``weight`` becomes a plain Parameter holding ``orig ⊙ mask``.

Magnitude pruning keeps the entries of largest |w|: with k = round(amount·n) (``amount`` a fraction)
or k = amount (an int), the k entries of smallest |w| get mask 0. Pruning an already pruned weight
again prunes ``amount`` of the entries still kept, as PyTorch does, and the masks multiply.
"""
import math
import numbers

import numpy as np

from .. import random as _random
from ..nn.parameter import Parameter
from ..tensor import Tensor

__all__ = ["identity", "random_unstructured", "l1_unstructured", "ln_structured", "random_structured",
           "global_unstructured", "custom_from_mask", "remove", "is_pruned", "L1Unstructured",
           "RandomUnstructured", "Identity", "prune_count"]


def _array(t):
    return np.asarray(t.array if isinstance(t, Tensor) else t)


def prune_count(amount, n, where="prune"):
    """How many of ``n`` entries ``amount`` (a fraction in [0, 1] or a whole number ≤ n) prunes."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"{where}: amount must be a fraction in [0, 1] or a whole number, got {amount!r}")
    if isinstance(amount, numbers.Integral):
        if not 0 <= amount <= n:
            raise ValueError(f"{where}: amount={amount} entries, but the tensor has only {n}")
        return int(amount)
    if not 0.0 <= amount <= 1.0 or math.isnan(amount):
        raise ValueError(f"{where}: amount must be in [0, 1] as a fraction, got {amount}")
    return int(round(amount * n))


def _smallest(scores, k):
    """Boolean array: True at the k entries of smallest score (stable: ties go to the first)."""
    flat = scores.reshape(-1)
    out = np.zeros(flat.shape, dtype=bool)
    if k:
        out[np.argsort(flat, kind="stable")[:k]] = True
    return out.reshape(scores.shape)


def _current(module, name):
    """(values, mask) of ``module.name``: the original values and the mask so far (all ones if new)."""
    if name + "_orig" in module._parameters:
        return _array(module._parameters[name + "_orig"]), _array(module._buffers[name + "_mask"])
    param = module._parameters.get(name)
    if param is None:
        have = ", ".join(k for k, v in module._parameters.items() if v is not None)
        raise AttributeError(f"prune: {type(module).__name__} has no parameter {name!r} "
                             f"(its parameters: {have})")
    values = _array(param)
    return values, np.ones_like(values)


def _apply_hook(module, args):
    for name in module.__dict__.get("_pruned_names", ()):
        object.__setattr__(module, name, module._parameters[name + "_orig"] * module._buffers[name + "_mask"])


def _install(module, name, mask):
    """Set ``name``'s mask to ``mask`` (replacing any previous one) and keep ``module.name`` = orig ⊙ mask."""
    mask = mask.astype(_array(module._parameters.get(name + "_orig", module._parameters.get(name))).dtype)
    if name + "_orig" not in module._parameters:
        orig = module._parameters[name]
        module._forget(name)
        module.__dict__.pop(name, None)
        module.register_parameter(name + "_orig", orig)
        module.register_buffer(name + "_mask", Tensor(mask))
        names = module.__dict__.setdefault("_pruned_names", [])
        names.append(name)
        if module.__dict__.get("_prune_handle") is None:
            module.__dict__["_prune_handle"] = module.register_forward_pre_hook(_apply_hook)
    else:
        module.register_buffer(name + "_mask", Tensor(mask))
    object.__setattr__(module, name, module._parameters[name + "_orig"] * module._buffers[name + "_mask"])
    return module


class _Method:
    """A pruning method: ``compute_mask(values, mask) -> new mask`` (PyTorch's BasePruningMethod)."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount=0.0, **kwargs):
        self.amount = amount
        self.kwargs = kwargs

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        method = cls(*args, **kwargs)
        values, mask = _current(module, name)
        scores = values if importance_scores is None else _array(importance_scores)
        if scores.shape != values.shape:
            raise ValueError(f"prune: importance_scores has shape {scores.shape}, expected {values.shape} "
                             f"(the shape of {type(module).__name__}.{name})")
        return _install(module, name, method.compute_mask(scores, mask))


class Identity(_Method):
    def compute_mask(self, scores, mask):
        return mask


class L1Unstructured(_Method):
    """Zero the ``amount`` of the still-kept entries with the smallest |score|."""

    def compute_mask(self, scores, mask):
        kept = mask != 0
        k = prune_count(self.amount, int(kept.sum()), "l1_unstructured")
        s = np.where(kept, np.abs(scores), np.inf)
        return mask * ~_smallest(s, k)


class RandomUnstructured(_Method):
    def compute_mask(self, scores, mask):
        kept = mask != 0
        k = prune_count(self.amount, int(kept.sum()), "random_unstructured")
        s = np.where(kept, _random.generator().random(scores.shape), np.inf)
        return mask * ~_smallest(s, k)


class LnStructured(_Method):
    """Zero whole slices along ``dim`` (output channels for dim=0) with the smallest L_n norm."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n=2, dim=-1):
        super().__init__(amount)
        self.n, self.dim = n, dim

    def compute_mask(self, scores, mask):
        dim = self.dim % scores.ndim
        rows = np.moveaxis(scores, dim, 0).reshape(scores.shape[dim], -1)
        norms = np.linalg.norm(rows, ord=self.n, axis=1)
        k = prune_count(self.amount, scores.shape[dim], "ln_structured")
        shape = [1] * scores.ndim
        shape[dim] = -1
        return mask * ~np.broadcast_to(_smallest(norms, k).reshape(shape), scores.shape)


class RandomStructured(LnStructured):
    def compute_mask(self, scores, mask):
        dim = self.dim % scores.ndim
        k = prune_count(self.amount, scores.shape[dim], "random_structured")
        drop = _smallest(_random.generator().random(scores.shape[dim]), k)
        shape = [1] * scores.ndim
        shape[dim] = -1
        return mask * ~np.broadcast_to(drop.reshape(shape), scores.shape)


def identity(module, name):
    """Prune nothing, but give ``module.name`` a mask of ones (so it can be pruned by hand later)."""
    return Identity.apply(module, name)


def l1_unstructured(module, name, amount, importance_scores=None):
    """Zero the ``amount`` (fraction or count) of ``module.name``'s entries with the smallest |w|."""
    return L1Unstructured.apply(module, name, amount, importance_scores=importance_scores)


def random_unstructured(module, name, amount):
    return RandomUnstructured.apply(module, name, amount)


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Zero the ``amount`` of the slices along ``dim`` with the smallest L_n norm (the shape stays;
    :func:`shendu.compress.prune_channels` removes channels for real)."""
    return LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)


def random_structured(module, name, amount, dim):
    return RandomStructured.apply(module, name, amount, 2, dim)


def custom_from_mask(module, name, mask):
    """Prune ``module.name`` with a mask of your own (1 keeps, 0 prunes), multiplied into any mask."""
    values, old = _current(module, name)
    mask = _array(mask)
    if mask.shape != values.shape:
        raise ValueError(f"custom_from_mask: mask has shape {mask.shape}, expected {values.shape}")
    return _install(module, name, old * (mask != 0))


def global_unstructured(parameters, pruning_method=L1Unstructured, importance_scores=None, **kwargs):
    """Prune ``amount`` of all the entries of several tensors together, smallest |w| first.

    ``parameters``: (module, name) pairs. A layer of small weights loses more than its share; the
    threshold is one number for the whole model: keep w where |w| > t, t the k-th smallest |w| overall.
    """
    parameters = list(parameters)
    if not parameters:
        raise ValueError("global_unstructured: parameters is empty; give (module, 'weight') pairs")
    if isinstance(pruning_method, str):
        pruning_method = {"l1": L1Unstructured, "l1_unstructured": L1Unstructured,
                          "random": RandomUnstructured}[pruning_method]
    if getattr(pruning_method, "PRUNING_TYPE", None) != "unstructured":
        raise TypeError("global_unstructured: pruning_method must be an unstructured method "
                        "(L1Unstructured or RandomUnstructured)")
    importance_scores = importance_scores or {}
    values, masks, scores = [], [], []
    for module, name in parameters:
        v, m = _current(module, name)
        values.append(v)
        masks.append(m)
        s = importance_scores.get((module, name))
        scores.append(v if s is None else _array(s))
    flat_s = np.concatenate([s.reshape(-1) for s in scores])
    flat_m = np.concatenate([m.reshape(-1) for m in masks])
    new = pruning_method(**kwargs).compute_mask(flat_s, flat_m)
    start = 0
    for (module, name), v in zip(parameters, values):
        _install(module, name, new[start:start + v.size].reshape(v.shape))
        start += v.size
    return None


def is_pruned(module):
    """True when ``module`` or any module inside it carries a pruning mask."""
    return any(m.__dict__.get("_pruned_names") for m in module.modules())


def remove(module, name):
    """Make the pruning of ``module.name`` permanent: ``name`` becomes a Parameter holding orig ⊙ mask,
    and ``name_orig``, ``name_mask`` and (for the last pruned name) the forward pre-hook are gone."""
    names = module.__dict__.get("_pruned_names") or []
    if name not in names:
        raise ValueError(f"remove: parameter {name!r} of {type(module).__name__} is not pruned")
    orig = module._parameters[name + "_orig"]
    mask = module._buffers[name + "_mask"]
    value = _array(orig) * _array(mask)
    for key in (name + "_orig", name + "_mask"):
        module._forget(key)
        module.__dict__.pop(key, None)
    module.__dict__.pop(name, None)
    value = value.astype(_array(orig).dtype)
    module.register_parameter(name, Parameter(value, requires_grad=orig.requires_grad))
    names.remove(name)
    if not names:
        module.__dict__.pop("_pruned_names", None)
        handle = module.__dict__.pop("_prune_handle", None)
        if handle is not None:
            handle.remove()
    return module
