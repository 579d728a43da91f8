"""The optimizer base class: parameter groups, per-parameter state, ``zero_grad``, ``step``, state dicts.

An optimizer holds references to parameters (leaf Tensors) and changes their arrays **in place**
with plain array math; nothing it does is recorded by autograd (each update counts as an in-place
change of the parameter, so a graph built before ``step()`` refuses a later backward, as in
PyTorch) and every parameter keeps its identity, so a model, its optimizer and any scheduler
keep pointing at the same objects.

The layout is PyTorch's:

* ``param_groups``: a list of dicts, each with ``'params'`` (a list of Tensors) and the group's
  options (``'lr'``, ``'momentum'``, ...). Different groups can use different options.
* ``state``: a dict from parameter to that parameter's running buffers (``'step'``,
  ``'exp_avg'``, ...), created lazily on the first step that sees a gradient.
* ``state_dict()``: ``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}``
  where parameters are numbered 0, 1, 2, ... across all groups in order.

Writing a new algorithm means implementing ``_init_state(param, state, group)`` and
``_update(param, grad, state, group)`` on arrays; ``step()`` does the bookkeeping. A subclass may
also override ``step`` entirely, as PyTorch-style custom optimizers do.
"""
import copy
import functools
from collections import defaultdict

from ..autograd import enable_grad
from ..backend import xp
from ..errors import ShapeError
from ..tensor import Tensor

__all__ = ["Optimizer"]


def _as_array(value):
    """A stored state value as a backend array (accepts shendu Tensors, torch tensors, arrays)."""
    if isinstance(value, Tensor):
        return value.array
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor, without importing torch
        return xp.asarray(value.detach().cpu().numpy())
    return xp.asarray(value)


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs (``model.named_parameters()``),
            or of dicts defining parameter groups (``{'params': [...], 'lr': 0.1}``).
        defaults: the default value of every option, used where a group does not set it.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        self._opt_called = False
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params should be an iterable of Tensors or dicts, but got a single "
                            "Tensor; wrap it in a list: [param]")
        if isinstance(params, dict):
            params = [params]
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be given in an ordered collection (list, tuple, "
                            "generator), not a set, so that state dicts number them the same every run")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(f"{name} got an empty parameter list: pass model.parameters() (or a list of "
                             "Tensors) of a model that has parameters")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __init_subclass__(cls, **kwargs):
        """A subclass that writes its own ``step`` still records that the optimizer stepped."""
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            user_step = cls.__dict__["step"]

            @functools.wraps(user_step)
            def step(self, *args, **kw):
                self._opt_called = True
                return user_step(self, *args, **kw)

            cls.step = step

    # ----- parameter groups ----------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (missing options take the defaults)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: expected a dict like {{'params': [...], 'lr': 0.1}}, "
                            f"got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError(f"{name}.add_param_group: the group has no 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}: parameters must be given in an ordered collection (list, tuple, "
                            "generator), not a set, so that state dicts number them the same every run")
        else:
            params = list(params)
        names = []
        if params and all(isinstance(p, tuple) and len(p) == 2 for p in params):
            names = [n for n, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimize shendu Tensors (parameters), but one of the "
                                f"params is {type(p).__module__}.{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name} can't optimize a non-leaf Tensor (one computed from other "
                                 "tensors); optimize the leaves, e.g. model.parameters()")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter appears twice in the same parameter group")
        group["params"] = params
        if names:
            group["param_names"] = names
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self._check_options(group)
        self.param_groups.append(group)

    def _check_options(self, group):
        """Raise ValueError for an invalid option of ``group``; subclasses add their own checks."""
        lr = group.get("lr")
        if lr is not None and not lr >= 0.0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate lr={lr}; it must be >= 0")
        wd = group.get("weight_decay")
        if wd is not None and not wd >= 0.0:
            raise ValueError(f"{type(self).__name__}: invalid weight_decay={wd}; it must be >= 0")
        eps = group.get("eps")
        if eps is not None and not eps >= 0.0:
            raise ValueError(f"{type(self).__name__}: invalid eps={eps}; it must be >= 0")
        betas = group.get("betas")
        if betas is not None:
            for i, b in enumerate(betas):
                if not 0.0 <= b < 1.0:
                    raise ValueError(f"{type(self).__name__}: invalid beta at index {i}: {b}; "
                                     "each beta must be in [0, 1)")

    # ----- gradients and steps -------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Forget the gradients: ``p.grad = None`` (default) or an array of zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.array = xp.zeros_like(p.grad.array)

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()`` when one is given.

        ``closure`` is a function that clears the gradients, recomputes the loss, calls
        ``backward()`` and returns the loss (needed by algorithms that evaluate it several times).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.array
                if grad.shape != p.array.shape:
                    raise ShapeError(f"{type(self).__name__}.step: a parameter of shape {p.array.shape} has "
                                     f"a gradient of shape {grad.shape}; they must match")
                state = self.state[p]
                if not state:
                    self._init_state(p.array, state, group)
                self._update(p.array, grad, state, group)
                p._bump()
        self._opt_called = True
        return loss

    def _init_state(self, param, state, group):
        """Create the per-parameter buffers in ``state`` (a dict) before the first update."""

    def _update(self, param, grad, state, group):
        """Change the array ``param`` in place given the array ``grad`` (never modify ``grad``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update (or override step)")

    # ----- saving and resuming -------------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state as ``{'state': {index: {...}}, 'param_groups': [...]}`` (PyTorch's layout).

        Parameters are replaced by their position (0, 1, ... across the groups in order); the
        arrays are copies, so the result is a snapshot that later steps do not change.
        """
        index, groups, start = {}, [], 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = list(range(start, start + len(group["params"])))
            start += len(group["params"])
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if s and id(p) in index:
                state[index[id(p)]] = {k: (v.copy() if isinstance(v, xp.ndarray) else copy.deepcopy(v))
                                       for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Resume from :meth:`state_dict` output (from shendu, or PyTorch's with tensors as values).

        The groups must have the same sizes as this optimizer's; the loaded options replace the
        current ones and the buffers are copied and cast to each parameter's dtype.
        """
        name = type(self).__name__
        if "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' "
                             f"keys, got keys {sorted(state_dict)}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the saved state has {len(saved_groups)} parameter "
                             f"groups but this optimizer has {len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has {len(saved['params'])} "
                                 f"parameters in the saved state but {len(group['params'])} here")
        id_to_param = {}
        for saved, group in zip(saved_groups, self.param_groups):
            id_to_param.update(zip(saved["params"], group["params"]))
        new_state = defaultdict(dict)
        for key, values in state_dict["state"].items():
            key = int(key)
            if key not in id_to_param:
                raise ValueError(f"{name}.load_state_dict: the saved state refers to parameter {key}, "
                                 "which no parameter group contains")
            p = id_to_param[key]
            new_state[p] = {k: self._restore_value(k, v, p) for k, v in values.items()}
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            g = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            if "param_names" in group and "param_names" not in g:
                g["param_names"] = group["param_names"]
            g["params"] = group["params"]
            new_groups.append(g)
        self.state = new_state
        self.param_groups = new_groups

    @staticmethod
    def _restore_value(key, value, param):
        if key == "step":
            return int(round(float(_as_array(value))))
        if key == "mu_product":
            return float(_as_array(value))
        if isinstance(value, (int, float, bool, str, tuple)) or value is None:
            return value
        arr = _as_array(value)
        if arr.dtype.kind == "f" and param.array.dtype.kind == "f":
            return arr.astype(param.array.dtype, copy=True)
        return arr.copy()

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


# ----- small array helpers shared by the algorithms ----------------------------------------------
def _decayed_grad(grad, param, weight_decay, maximize):
    """g = (−grad if maximize else grad) + weight_decay·param, without touching ``grad``."""
    if maximize:
        grad = xp.negative(grad)
        if weight_decay:
            grad += weight_decay * param
        return grad
    if weight_decay:
        return grad + weight_decay * param
    return grad


def _adam_moments_(param, grad, state, group, lr, wd, beta1, beta2):
    """The step every Adam-family optimizer starts with, in place: weight decay (θ ← θ·(1 − η·λ)
    when ``decoupled_weight_decay``, else g ← g + λ·θ), then m ← β₁·m + (1 − β₁)·g and
    v ← β₂·v + (1 − β₂)·g². Returns ``(g, m, v)``."""
    if group.get("decoupled_weight_decay", False):
        if wd:
            param *= 1.0 - lr * wd
        g = _decayed_grad(grad, param, 0.0, group["maximize"])
    else:
        g = _decayed_grad(grad, param, wd, group["maximize"])
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    _lerp_(exp_avg, g, 1.0 - beta1)
    _square_avg_(exp_avg_sq, g, beta2)
    return g, exp_avg, exp_avg_sq


def _lerp_(a, b, weight):
    """a ← a + weight·(b − a), in place, evaluated the way PyTorch's ``lerp_`` does."""
    if weight < 0.5:
        diff = xp.subtract(b, a)
        diff *= weight
        a += diff
    else:
        diff = xp.subtract(b, a)
        diff *= 1.0 - weight
        xp.subtract(b, diff, out=a)


def _square_avg_(avg, grad, decay):
    """avg ← decay·avg + (1 − decay)·grad², in place."""
    avg *= decay
    sq = xp.multiply(grad, 1.0 - decay)
    sq *= grad
    avg += sq
