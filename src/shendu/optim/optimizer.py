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

Fused updates (SGD, RMSprop, Adam and AdamW, unless ``foreach=False`` or ``fused=False``): when
the small parameters of a group (under 32768 elements each: the ones whose update time is set by
the cost per NumPy call, not by memory) all have a gradient and share one float dtype, they are
updated as ONE flat array: their arrays are moved once into a flat buffer of the group (``p.array``
becomes a view of it; the Tensor ``p`` itself is unchanged), their optimizer state lives in flat
buffers of the same layout (``opt.state[p]`` holds views of them), the gradients are gathered with
one copy, and ``_update`` runs once on the flat arrays instead of once per parameter, so the step
costs a dozen NumPy calls however many small parameters there are (what PyTorch's
``foreach``/``fused`` modes buy). Larger parameters are updated one by one as before. The
elementwise math is the same as the per-parameter path, so both give identical numbers; a group
that does not qualify (a small parameter without gradient, mixed dtypes, fewer than two small
parameters) takes the per-parameter path, and ``foreach=False`` (or ``fused=False``) always does.
An array replaced from outside (``p.data = ...``, ``model.to(dtype)``) or state replaced by
``load_state_dict`` is noticed at the next step and packed again. Keep ``p`` (not an array taken
from it before the first step) to see the updated values.

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
        for gi, group in enumerate(self.param_groups):
            params = group["params"]
            if self._fusable and group.get("foreach") is not False and group.get("fused") is not False:
                params = self._fused_step(gi, group)        # the parameters left to update one by one
            for p in params:
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

    # ----- the fused path: one flat update per group ------------------------------------------------
    _fusable = False     # True where ``_update`` is elementwise, so a flat array can stand for all

    def _fused_step(self, gi, group):
        """Update the small parameters of ``group`` as one flat array (see the module docstring);
        returns the parameters still to update one by one (all of them when the group does not qualify)."""
        flats = self.__dict__.setdefault("_flat_groups", {})
        flat = flats.get(gi)
        params = group["params"]
        if flat is None or not flat.valid(params, self.state):
            flat = _FlatGroup.build(params, self.state)
            flats[gi] = flat
            if flat is None:
                return params
        grads = []
        for p, shape in zip(flat.members, flat.shapes):
            g = p.grad.array
            if g.shape != shape:
                raise ShapeError(f"{type(self).__name__}.step: a parameter of shape {shape} has a gradient "
                                 f"of shape {g.shape}; they must match")
            grads.append(g.reshape(-1))
        xp.concatenate(grads, out=flat.grad)
        if not flat.state:
            self._init_state(flat.param, flat.state, group)
        self._update(flat.param, flat.grad, flat.state, group)
        flat.share_state(flat.members, self.state)
        for p in flat.members:
            p._bump()
        return flat.others

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


class _FlatGroup:
    """The flat buffers of the small parameters of one group (``members``, each under ``FUSE_MAX``
    elements; ``others`` are updated one by one, where the per-call cost is already negligible and
    gathering their gradients would only add a pass over memory): ``param`` (the members' arrays,
    back to back), ``grad`` (gathered each step) and ``state`` (one flat array per state buffer,
    plus the shared scalars such as ``'step'``). ``views`` are the members' windows into ``param``;
    their state dicts hold windows into the flat state arrays."""

    FUSE_MAX = 1 << 15

    def __init__(self, params, members, dtype):
        self.ids = [id(p) for p in params]
        self.members = members
        chosen = {id(p) for p in members}
        self.others = [p for p in params if id(p) not in chosen]
        self.shapes = [p.array.shape for p in members]
        self.offsets = [0]
        for p in members:
            self.offsets.append(self.offsets[-1] + p.array.size)
        self.param = xp.empty(self.offsets[-1], dtype=dtype)
        self.grad = xp.empty_like(self.param)
        self.views = self._windows(self.param)
        self.state = {}
        self.state_views = {}           # key -> per-parameter windows of the flat state array
        self.view_sources = {}          # key -> the flat array those windows look into

    def _windows(self, flat):
        o = self.offsets
        return [flat[o[i]:o[i + 1]].reshape(shape) for i, shape in enumerate(self.shapes)]

    @classmethod
    def build(cls, params, states):
        """Pack the small ones of ``params`` (and their state so far) into flat buffers; None if fewer
        than two qualify (a gradient, one float dtype, the same state keys and step count)."""
        members = [p for p in params if p.grad is not None and p.array.size < cls.FUSE_MAX]
        if len(members) < 2:
            return None
        dtype = members[0].array.dtype
        if dtype.kind != "f" or any(p.array.dtype != dtype or p.grad.array.dtype != dtype for p in members):
            return None
        if any(p.grad is None for p in params if p.array.size < cls.FUSE_MAX):
            return None                 # a small parameter without gradient: this step one by one
        per = [states.get(p) or {} for p in members]
        keys = set(per[0])
        if any(set(s) != keys for s in per):
            return None                 # some parameters have state and others not
        flat = cls(params, members, dtype)
        for key in keys:
            values = [s[key] for s in per]
            if all(isinstance(v, xp.ndarray) and v.shape == p.array.shape and v.dtype == dtype
                   for v, p in zip(values, members)):
                flat.state[key] = xp.concatenate([v.reshape(-1) for v in values])
            elif all(not isinstance(v, xp.ndarray) and v == values[0] for v in values):
                flat.state[key] = values[0]
            else:
                return None
        xp.concatenate([p.array.reshape(-1) for p in members], out=flat.param)
        for p, view in zip(members, flat.views):
            p.array = view
        flat.share_state(members, states)
        return flat

    def valid(self, params, states):
        """Whether the buffers still stand for ``params``: same parameters, arrays and state not replaced."""
        if len(params) != len(self.ids) or any(id(p) != i for p, i in zip(params, self.ids)):
            return False
        for p, view in zip(self.members, self.views):
            if p.array is not view or p.grad is None:
                return False
        for p_i, p in enumerate(self.members):
            s = states.get(p)
            if self.state and s is None:
                return False
            for key, value in self.state.items():
                got = s.get(key, _MISSING)
                views = self.state_views.get(key)
                if views is not None:
                    if got is not views[p_i]:
                        return False
                elif got is not value and got != value:
                    return False
        return True

    def share_state(self, members, states):
        """Give every member's state dict its windows of the flat state (and the shared scalars)."""
        n = self.param.size
        for key, value in self.state.items():
            if isinstance(value, xp.ndarray) and value.shape == (n,):
                views = self.state_views.get(key)
                if views is None or self.view_sources.get(key) is not value:
                    views = self.state_views[key] = self._windows(value)
                    self.view_sources[key] = value
                    for p, v in zip(members, views):
                        states[p][key] = v
            else:
                self.state_views.pop(key, None)
                self.view_sources.pop(key, None)
                for p in members:
                    states[p][key] = value


_MISSING = object()


# ----- the compiled updates (shendu[fast]) --------------------------------------------------------
def _compiled_kernels():
    """The compiled updates (``shendu.optim._compiled``), or None: switched off
    (``shendu.backend.set_compiled``) or numba missing. Imports numba on the first call that may use it."""
    from .. import backend

    return backend.compiled_module(f"{__package__}._compiled")


def _kernel_arrays(param, grad, *state):
    """Flat views of ``param``, ``grad`` and the ``state`` arrays for a compiled update, or None when
    one does not apply: a dtype other than float32/float64, arrays not all C-contiguous in that one
    dtype and shape (the NumPy code takes any layout), a read-only parameter, a gradient in the
    parameter's memory, or no kernels."""
    dtype = param.dtype
    if dtype != xp.float32 and dtype != xp.float64:
        return None
    arrays = (param, grad) + state
    for a in arrays:
        if a.dtype != dtype or a.shape != param.shape or not a.flags.c_contiguous:
            return None
    if not param.flags.writeable or xp.may_share_memory(param, grad) or _compiled_kernels() is None:
        return None
    return [a.reshape(-1) for a in arrays]


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
