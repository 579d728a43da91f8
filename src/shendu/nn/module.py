"""``Module``: the base class of every layer and model (PyTorch's ``nn.Module`` contract).

A Module owns :class:`Parameter` s (learned), buffers (state such as running averages) and child
Modules, all registered by plain attribute assignment in ``__init__``::

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 128)      # registered as child "fc1"
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

``model(x)`` calls ``forward``. ``state_dict()`` names every tensor by its attribute path
(``fc1.weight``), exactly as PyTorch does, so weights move between the two by name.
"""
import contextlib
import itertools
import threading
from collections import OrderedDict, namedtuple

import numpy as np

from ..autograd import Function, is_grad_enabled
from ..backend import xp
from ..tensor import Tensor, _to_array, parse_to_args
from .parameter import Buffer, Parameter

__all__ = ["Module", "training_mode"]


class _ModeScope:
    """One thread's view of the modules' modes inside :func:`training_mode`."""

    __slots__ = ("default", "modes")

    def __init__(self, default):
        self.default = default
        self.modes = {}  # id(module) -> (module, mode): train()/eval() calls made inside the scope


class _ModeState(threading.local):
    scope = None


_mode_state = _ModeState()


@contextlib.contextmanager
def training_mode(mode=False):
    """Run modules in training (True) or evaluation (False) mode in the calling thread only.

    Inside the block every ``Module`` reads ``module.training`` as ``mode``, and ``train()`` /
    ``eval()`` calls change only this thread's view; the modules themselves are left as they are,
    so another thread can keep training the same model while this one predicts::

        with nn.training_mode(False), sd.no_grad():
            y = model(x)          # Dropout off, BatchNorm on running statistics, nothing mutated

    ``Trainer.predict`` / ``evaluate`` (and Keras ``predict`` / ``evaluate``) run in this mode.
    Scopes nest; leaving one restores the view the thread had before.
    """
    if not isinstance(mode, bool):
        raise ValueError(f"training_mode(mode) expects a bool, got {mode!r}")
    previous = _mode_state.scope
    _mode_state.scope = _ModeScope(mode)
    try:
        yield
    finally:
        _mode_state.scope = previous

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class RemovableHandle:
    """Returned by ``register_*_hook``; ``handle.remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks):
        self.hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self):
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _BackwardHookState:
    """One call of a module with full backward hooks: identity nodes on its Tensor inputs and outputs
    collect grad_output, then call the hooks with grad_input (as PyTorch's BackwardHook does)."""

    def __init__(self, module):
        self.module = module
        self.grad_output = None
        self.n_inputs = 0
        self.inputs_hooked = False

    def wrap_inputs(self, args):
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_inputs = len(idx)
        if not is_grad_enabled() or not any(args[i].requires_grad for i in idx):
            return args
        self.inputs_hooked = True
        wrapped = _BackwardHookIn.apply(*[args[i] for i in idx], state=self)
        args = list(args)
        for i, w in zip(idx, wrapped):
            args[i] = w
        return tuple(args)

    def wrap_outputs(self, out):
        single = isinstance(out, Tensor)
        outs = [out] if single else list(out) if isinstance(out, (tuple, list)) else None
        if outs is None or not is_grad_enabled():
            return out
        idx = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not idx:
            return out
        wrapped = _BackwardHookOut.apply(*[outs[i] for i in idx], state=self)
        for i, w in zip(idx, wrapped):
            outs[i] = w
        return outs[0] if single else type(out)(outs)

    def run_pre_hooks(self, grads):
        for hook in list((self.module._backward_pre_hooks or {}).values()):
            new = hook(self.module, grads)
            if new is not None:
                grads = tuple(new) if isinstance(new, (tuple, list)) else (new,)
        return grads

    def run_hooks(self, grad_input):
        for hook in list(self.module._backward_hooks.values()):
            if hook is None:
                continue
            new = hook(self.module, grad_input, self.grad_output)
            if new is not None:
                grad_input = tuple(new) if isinstance(new, (tuple, list)) else (new,)
        return grad_input


class _BackwardHookOut(Function):
    """z = a (identity on a module's outputs); its backward records grad_output for the backward hooks."""

    def forward(self, *arrays, state):
        self.state = state
        return tuple(arrays)

    def _run(self, grads, as_tensor):
        gs = tuple(g if as_tensor else Tensor(g) for g in grads)
        gs = self.state.run_pre_hooks(gs)
        self.state.grad_output = gs
        if not self.state.inputs_hooked:
            self.state.run_hooks((None,) * self.state.n_inputs)
        return tuple(g if as_tensor or g is None else g.numpy() for g in gs)

    def backward(self, *grads):
        return self._run(grads, False)

    def backward_graph(self, *grads):
        return self._run(grads, True)


class _BackwardHookIn(Function):
    """z = a (identity on a module's inputs); its backward calls the module's full backward hooks."""

    def forward(self, *arrays, state):
        self.state = state
        return tuple(arrays)

    def _run(self, grads, as_tensor):
        gs = tuple(g if as_tensor else Tensor(g) for g in grads)
        gs = tuple(g if need else None for g, need in zip(gs, self.needs_grad))
        gs = self.state.run_hooks(gs)
        return tuple(None if g is None else g if as_tensor else g.numpy() for g in gs)

    def backward(self, *grads):
        return self._run(grads, False)

    def backward_graph(self, *grads):
        return self._run(grads, True)


def _addindent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


def _to_host_array(value, name):
    """A state_dict value (shendu Tensor, NumPy array, or a PyTorch tensor) as an ndarray."""
    if isinstance(value, Tensor):
        return value.array
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor, without importing torch
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except Exception as exc:  # noqa: BLE001
        raise TypeError(f"load_state_dict: value for {name!r} is a {type(value).__name__}, expected a "
                        "Tensor or an array") from exc


class Module:
    """Base class for layers and models; subclasses call ``super().__init__()`` and define ``forward``."""

    _parameters = None
    _backward_hooks = None
    _backward_pre_hooks = None

    @property
    def training(self):
        """True in training mode. Inside :func:`training_mode` this thread's view of the mode."""
        scope = _mode_state.scope
        if scope is not None:
            entry = scope.modes.get(id(self))
            return scope.default if entry is None else entry[1]
        return self.__dict__.get("training", True)

    @training.setter
    def training(self, mode):
        scope = _mode_state.scope
        if scope is not None:
            scope.modes[id(self)] = (self, bool(mode))
        else:
            self.__dict__["training"] = bool(mode)

    def __init__(self, *args, **kwargs):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()

    # ----- calling ----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(): a Module subclass must define "
                                  "forward(self, ...) to say what calling it computes")

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks or self._forward_hooks or self._backward_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        with_kwargs = self.__dict__.get("_hooks_with_kwargs", ())
        for key, hook in list(self._forward_pre_hooks.items()):
            if key in with_kwargs:
                new = hook(self, args, kwargs)
                if new is not None:
                    if not (isinstance(new, tuple) and len(new) == 2):
                        raise RuntimeError(f"{type(self).__name__}: a forward pre-hook registered with "
                                           "with_kwargs=True must return (args, kwargs) or None, "
                                           f"got {new!r}")
                    args, kwargs = new
                    args = args if isinstance(args, tuple) else (args,)
            else:
                new = hook(self, args)
                if new is not None:
                    args = new if isinstance(new, tuple) else (new,)
        state = None
        if self._backward_hooks:
            state = _BackwardHookState(self)
            args = state.wrap_inputs(args)
        out = self.forward(*args, **kwargs)
        for key, hook in list(self._forward_hooks.items()):
            new = hook(self, args, kwargs, out) if key in with_kwargs else hook(self, args, out)
            if new is not None:
                out = new
        if state is not None:
            out = state.wrap_outputs(out)
        return out

    def _add_hook(self, table, hook, with_kwargs, prepend):
        handle = RemovableHandle(table)
        table[handle.id] = hook
        if prepend:
            table.move_to_end(handle.id, last=False)
        if with_kwargs:
            self.__dict__.setdefault("_hooks_with_kwargs", set()).add(handle.id)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """``hook(module, args, output)`` runs after ``forward``; a non-None return replaces the output.
        With ``with_kwargs=True`` it is ``hook(module, args, kwargs, output)``."""
        return self._add_hook(self._forward_hooks, hook, with_kwargs, prepend)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` runs before ``forward``; a non-None return replaces the args. With
        ``with_kwargs=True`` it is ``hook(module, args, kwargs)`` and may return ``(args, kwargs)``."""
        return self._add_hook(self._forward_pre_hooks, hook, with_kwargs, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to the module's
        Tensor inputs are computed (``grad_output``: those of its outputs); a returned tuple replaces
        ``grad_input``. Inputs that need no gradient appear as None."""
        if self.__dict__.get("_backward_hooks") is None:
            self.__dict__["_backward_hooks"] = OrderedDict()
        return self._add_hook(self._backward_hooks, hook, False, prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` runs before the gradients of the inputs are computed; a returned
        tuple replaces ``grad_output``."""
        if self.__dict__.get("_backward_hooks") is None:
            self.__dict__["_backward_hooks"] = OrderedDict()
        if self.__dict__.get("_backward_pre_hooks") is None:
            self.__dict__["_backward_pre_hooks"] = OrderedDict()
        handle = self._add_hook(self._backward_pre_hooks, hook, False, prepend)
        self._backward_hooks.setdefault("pre", None)
        return handle

    # ----- registration -----------------------------------------------------------------------
    def _not_initialised(self, what):
        raise AttributeError(f"cannot assign {what} before Module.__init__() was called: add "
                             f"super().__init__() at the top of {type(self).__name__}.__init__")

    def _forget(self, name):
        d = self.__dict__
        d["_parameters"].pop(name, None)
        d["_buffers"].pop(name, None)
        d["_modules"].pop(name, None)
        d["_non_persistent_buffers"].discard(name)

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                self._not_initialised("parameters")
            self._forget(name)
            params[name] = value
            d[name] = value
        elif isinstance(value, Module):
            if params is None:
                self._not_initialised("submodules")
            self._forget(name)
            d["_modules"][name] = value
            d[name] = value
        elif isinstance(value, Buffer):
            if params is None:
                self._not_initialised("buffers")
            self.register_buffer(name, value, persistent=value.persistent)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} as parameter {name!r} of "
                                f"{type(self).__name__}: wrap it in nn.Parameter(...) or assign None")
            params[name] = None
            d[name] = None
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} as child module {name!r} of "
                                f"{type(self).__name__}: expected a Module or None")
            d["_modules"][name] = None
            d[name] = None
        elif params is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                value = Tensor(_to_array(value))
            d["_buffers"][name] = value
            d[name] = value
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name):
        if self._parameters is not None:
            self._forget(name)
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter or None) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be an nn.Parameter or None, got "
                            f"{type(param).__name__}")
        if self._parameters is None:
            self._not_initialised("parameters")
        self._forget(name)
        self._parameters[name] = param
        self.__dict__[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register state that is not learned (e.g. running averages), saved if ``persistent``."""
        if self._parameters is None:
            self._not_initialised("buffers")
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(_to_array(tensor))
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)
        self.__dict__[name] = tensor

    def add_module(self, name, module):
        """Register ``module`` (or None) as a child called ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        if not isinstance(name, str) or "." in name or name == "":
            raise KeyError(f"add_module: module name must be a non-empty string without '.', got {name!r}")
        if self._parameters is None:
            self._not_initialised("submodules")
        self._forget(name)
        self._modules[name] = module
        self.__dict__[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The submodule at dotted path ``target`` (``""`` is the module itself)."""
        mod = self
        if target == "":
            return mod
        for part in target.split("."):
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule {part!r} "
                                     f"(looking up {target!r})")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target):
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter {name!r}")
        return mod._parameters[name]

    # ----- iteration --------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Yield ``(dotted_name, module)`` for this module and every descendant, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, getter, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else \
            [(prefix, self)]
        for mod_prefix, m in mods:
            for name, v in getter(m).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + name, v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield ``(name, Parameter)`` pairs, each shared parameter once."""
        return self._named_members(lambda m: m._parameters, prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._buffers, prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, only_trainable=False):
        """Number of scalar weights (every parameter's element count, shared ones once)."""
        return int(sum(p.array.size for p in self.parameters() if p.requires_grad or not only_trainable))

    # ----- modes and gradients ----------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (dropout active, batch norm uses batch statistics) here and in every child."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode) expects a bool, got {mode!r}")
        self.training = mode  # inside training_mode(): this thread's view only
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        """Set evaluation mode (same as ``train(False)``)."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze (True) every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's ``.grad`` (set it to None, or fill it with zeros)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.array[...] = 0

    def apply(self, fn):
        """Call ``fn(module)`` on every child (recursively), then on this module; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ----- dtype ------------------------------------------------------------------------------
    def to(self, *args, **kwargs):
        """``to(dtype)`` casts floating-point parameters and buffers in place; ``to("cpu")`` is a no-op."""
        dtype = parse_to_args(args, kwargs)
        if dtype is None:
            return self
        if dtype.kind != "f":
            raise TypeError(f"Module.to() only accepts floating-point dtypes, got {dtype}")
        for t in itertools.chain(self.parameters(), self.buffers()):
            if t.array.dtype.kind == "f" and t.array.dtype != dtype:
                t.array = t.array.astype(dtype)
                if t.grad is not None:
                    t.grad.array = t.grad.array.astype(dtype)
        return self

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def type(self, dtype):
        return self.to(dtype)

    def cpu(self):
        return self

    def cuda(self, device=None):
        raise RuntimeError("cuda() is not available: this shendu backend runs on the CPU")

    # ----- state ------------------------------------------------------------------------------
    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """OrderedDict name -> Tensor of every parameter and persistent buffer (PyTorch's names)."""
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else Tensor(p.array)
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = b if keep_vars else Tensor(b.array)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _walk(self, prefix=""):
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m._walk(prefix + name + ".")

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy tensors from ``state_dict`` (Tensors, NumPy arrays or PyTorch tensors) into this model.

        Values are copied into the existing parameters (so optimizers keep working) and cast to their
        dtype. A shape mismatch is always an error; with ``strict=True`` so are missing and unexpected
        keys. Returns ``(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict expects a mapping of names to tensors, got "
                            f"{type(state_dict).__name__}")
        for prefix, m in self._walk():
            hook = getattr(m, "_materialize_from_state_dict", None)
            if hook is not None:
                hook(prefix, state_dict)
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        arrays, mismatched = {}, []
        for k, t in own.items():
            if k in state_dict:
                a = _to_host_array(state_dict[k], k)
                if a.size == 1 and t.array.size == 1 and 0 in (a.ndim, t.ndim):
                    a = a.reshape(t.shape)  # a scalar saved as shape (1,) (e.g. num_batches_tracked)
                if tuple(a.shape) != tuple(t.shape):
                    mismatched.append(f"size mismatch for {k}: copying a param with shape {tuple(a.shape)} "
                                      f"from the checkpoint, the shape in current model is {tuple(t.shape)}.")
                arrays[k] = a
        errors = list(mismatched)
        if strict:
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ".")
            if unexpected:
                errors.insert(len(errors) - len(mismatched),
                              "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected)
                              + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        for k, a in arrays.items():
            t = own[k]
            if assign:
                t.array = xp.array(a, dtype=t.array.dtype)
            else:
                t.array[...] = xp.asarray(a).astype(t.array.dtype, copy=False)
        return _IncompatibleKeys(missing, unexpected)

    # ----- printing ---------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside this module's parentheses in ``repr`` (e.g. ``in_features=4, ...``)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(m), 2) for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"

    def __dir__(self):
        return sorted(set(super().__dir__()))

    def _layer_name(self):
        """How error messages name this layer: ``Linear(in_features=3, out_features=2, bias=True)``."""
        extra = self.extra_repr()
        return f"{type(self).__name__}({extra})" if "\n" not in extra else type(self).__name__


def as_input(x):
    """A layer's input as a Tensor (NumPy arrays and lists are wrapped, not copied)."""
    return x if isinstance(x, Tensor) else Tensor(_to_array(x))


def match_float(x, dtype, layer):
    """``x`` cast to the layer's float ``dtype``; an integer or bool input is a TypeError naming the layer."""
    if x.dtype.kind != "f":
        raise TypeError(f"{layer._layer_name()}: got a tensor of dtype {x.dtype}, but this layer computes in "
                        f"{np.dtype(dtype)}; convert the input first, e.g. x.float() "
                        f"(integer class indices go to nn.Embedding, not to {type(layer).__name__})")
    return x.to(dtype)
