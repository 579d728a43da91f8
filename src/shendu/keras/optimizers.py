"""Keras optimizers with Keras's defaults, each running a :mod:`shendu.optim` optimizer inside.

    model.compile(optimizer=optimizers.Adam(learning_rate=1e-3), ...)   # or optimizer='adam'

Keras defaults differ from PyTorch's: Adam ε = 1e-7 (PyTorch 1e-8), RMSprop ρ = 0.9 (PyTorch α = 0.99),
SGD lr 0.01, Adagrad lr 0.001 with accumulators starting at 0.1, Adadelta lr 0.001 and ρ = 0.95.
tf.keras 2's ``lr=`` and ``decay=`` arguments are accepted (``decay``: lr / (1 + decay·iterations)).
``learning_rate`` may be a number or a schedule from :mod:`shendu.keras.optimizers.schedules`; reading
it gives the current value, assigning it changes the rate (callbacks do this).
The wrapped optimizer is created over the model's trainable weights when the model first trains."""

import numpy as np

from .. import optim
from ..optim import lr_scheduler as _lrs
from ._registry import Registry

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Nadam", "get", "serialize",
           "deserialize", "schedules"]


def apply_constraints(params):
    """Keras's weight constraints (``kernel_constraint=...``), applied after each update: every parameter
    a Keras layer gave a constraint is replaced by its projection."""
    for p in params:
        project = getattr(p, "_keras_constraint", None)
        if project is not None:
            project()


_SCHEDULE_REGISTRY = Registry("learning-rate schedule", base=_lrs.StepSchedule, classes=[
    getattr(_lrs, n) for n in ("ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay",
                               "PolynomialDecay", "CosineDecay", "CosineDecayRestarts")])
_SCHEDULES = _SCHEDULE_REGISTRY.classes
schedules = type("schedules", (), {
    "__doc__": """Keras's learning-rate schedules (``optimizers.schedules.ExponentialDecay`` ...): the
    closed-form step schedules of :mod:`shendu.optim.lr_scheduler` under their Keras names,
    ``schedule(step) -> lr``.""",
    "LearningRateSchedule": _lrs.StepSchedule, **_SCHEDULES,
    **{n: staticmethod(getattr(_SCHEDULE_REGISTRY, n)) for n in ("serialize", "deserialize", "get")}})


class Optimizer:
    """Base class of the Keras optimizer wrappers.

    It offers what the training loop needs from a ``shendu.optim`` optimizer (``param_groups``,
    ``zero_grad``, ``step``, ``state_dict``, ``load_state_dict``) and Keras's ``learning_rate``,
    ``iterations``, ``clipnorm`` / ``clipvalue`` / ``global_clipnorm`` and ``get_config``."""

    _defaults = {}

    def __init__(self, learning_rate=0.001, name=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 weight_decay=None, decay=None, **kwargs):
        if "lr" in kwargs:  # tf.keras 2 spelling
            learning_rate = kwargs.pop("lr")
        for ignored in ("use_ema", "ema_momentum", "ema_overwrite_frequency", "jit_compile",
                        "is_legacy_optimizer", "loss_scale_factor", "gradient_accumulation_steps"):
            kwargs.pop(ignored, None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(f"{type(self).__name__}: give at most one of clipnorm and global_clipnorm")
        self.name = name or type(self).__name__.lower()
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.weight_decay, self.decay = weight_decay, float(decay or 0.0)
        self.iterations, self._schedule, self._lr, self._inner = 0, None, None, None
        self.learning_rate = learning_rate

    # ----- learning rate ----------------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate (a float), as the next step will use it."""
        return self._current_lr()

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, _lrs.StepSchedule) or (
                callable(value) and not isinstance(value, (int, float, np.floating, np.integer))):
            self._schedule, self._lr = value, None
        else:
            self._schedule, self._lr = None, float(value)
        if self._inner is not None:
            self._sync_lr()

    lr = learning_rate

    def _current_lr(self):
        base = float(self._schedule(self.iterations)) if self._schedule is not None else self._lr
        return base / (1.0 + self.decay * self.iterations) if self.decay else base

    def _sync_lr(self):
        lr = self._current_lr()
        for group in self._inner.param_groups:
            group["lr"] = lr

    # ----- building ---------------------------------------------------------------------------------
    @property
    def built(self):
        return self._inner is not None

    def _make(self, params):
        raise NotImplementedError

    def build(self, var_list):
        """Create the inner ``shendu.optim`` optimizer over ``var_list`` (parameters). Parameters not seen
        before are added as a new group when the optimizer is already built (one optimizer, two models)."""
        params = [p for p in var_list]
        if self._inner is None:
            if not params:
                raise ValueError("The optimizer has no weights to train: the model has no trainable weights")
            self._inner = self._make(params)
            self._sync_lr()
            return
        known = {id(p) for g in self._inner.param_groups for p in g["params"]}
        new = [p for p in params if id(p) not in known]
        if new:
            self._inner.add_param_group({"params": new})
            self._sync_lr()

    def _require(self):
        if self._inner is None:
            raise RuntimeError(f"{type(self).__name__} is not built yet: compile a model with it and train "
                               "it (or call optimizer.build(model.trainable_variables))")
        return self._inner

    @property
    def inner(self):
        """The ``shendu.optim`` optimizer doing the updates (None before the first training step)."""
        return self._inner

    @property
    def param_groups(self):
        return self._require().param_groups

    @property
    def state(self):
        return self._require().state

    @property
    def variables(self):
        return [v for s in self._require().state.values() for v in s.values() if isinstance(v, np.ndarray)]

    # ----- stepping ---------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        if self._inner is not None:
            self._inner.zero_grad(set_to_none)

    def _clip(self):
        if self.clipvalue is None and self.clipnorm is None and self.global_clipnorm is None:
            return
        from ..nn import utils

        params = [p for g in self._inner.param_groups for p in g["params"] if p.grad is not None]
        if not params:
            return
        if self.clipvalue is not None:
            utils.clip_grad_value_(params, self.clipvalue)
        if self.clipnorm is not None:  # Keras clips each weight's gradient on its own
            for p in params:
                utils.clip_grad_norm_([p], self.clipnorm)
        if self.global_clipnorm is not None:
            utils.clip_grad_norm_(params, self.global_clipnorm)

    def step(self, closure=None):
        """One update of every weight that has a gradient (learning rate from the schedule, if any)."""
        inner = self._require()
        if self._schedule is not None or self.decay:
            self._sync_lr()
        self._clip()
        out = inner.step(closure)
        self.iterations += 1
        apply_constraints(p for group in inner.param_groups for p in group["params"])
        return out

    def apply_gradients(self, grads_and_vars):
        """Keras's ``apply_gradients(zip(grads, vars))``: set each variable's gradient and take one step.

        ``vars`` may be the model's ``trainable_weights`` (gradients in Keras layout, as
        ``GradientTape.gradient`` returns them), parameters, or ``keras.Variable`` s."""
        from ..tensor import Tensor

        pairs = []
        for g, v in grads_and_vars:
            g = None if g is None else np.asarray(getattr(g, "array", g))
            if hasattr(v, "_tape_source"):  # a Keras-layout view of one or more model tensors
                tensors = v._tape_source()[0]
                grads = (None,) * len(tensors) if g is None else v._from_keras(g)
            elif isinstance(v, Tensor):
                tensors, grads = (v,), (g,)
            else:
                raise TypeError(f"{type(self).__name__}.apply_gradients: expected (gradient, variable) pairs "
                                f"whose variables are model weights or Tensors, got {type(v).__name__}")
            for g, tensor in zip(grads, tensors):
                if g is not None:
                    g = np.asarray(g, dtype=tensor.array.dtype)
                    if g.shape != tensor.array.shape:
                        raise ValueError(f"{type(self).__name__}.apply_gradients: a gradient of shape "
                                         f"{g.shape} for a variable of shape {tuple(tensor.array.shape)}")
                pairs.append((g, tensor))
        if not pairs:
            return
        self.build([t for _, t in pairs])
        chosen = {id(t) for _, t in pairs}
        for p in (p for group in self._inner.param_groups for p in group["params"] if id(p) not in chosen):
            p.grad = None  # weights not in this call keep still
        for g, t in pairs:
            t.grad = None if g is None else Tensor(g)
        self.step()
        for _, t in pairs:
            t.grad = None

    def apply(self, grads, trainable_variables=None):
        """Keras 3's ``optimizer.apply(grads, trainable_variables)`` (the same as ``apply_gradients``)."""
        if trainable_variables is None:
            raise ValueError(f"{type(self).__name__}.apply: pass the variables, apply(grads, model.trainable_"
                             "variables)")
        self.apply_gradients(zip(grads, trainable_variables))

    # ----- state ------------------------------------------------------------------------------------
    def state_dict(self):
        return {**self._require().state_dict(), "iterations": self.iterations}

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        self.iterations = int(state_dict.pop("iterations", self.iterations))
        self._require().load_state_dict(state_dict)
        self._sync_lr()  # the rate (or schedule) set on this optimizer, not the file's

    def get_config(self):
        lr = self._schedule if self._schedule is not None else self._lr
        if isinstance(lr, _lrs.StepSchedule):
            lr = _SCHEDULE_REGISTRY.serialize(lr)
        config = {"name": self.name, "learning_rate": lr}
        config.update({k: getattr(self, k) for k in ("clipnorm", "clipvalue", "global_clipnorm")
                       if getattr(self, k) is not None})
        if self.decay:
            config["decay"] = self.decay
        config.update({k: getattr(self, k) for k in self._defaults})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict) and lr.get("class_name") in _SCHEDULES:
            config["learning_rate"] = _SCHEDULE_REGISTRY.deserialize(lr)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} learning_rate={self.learning_rate:g}>"


def _keras_optimizer(class_name, inner, lr, defaults, doc, renames=None):
    """A Keras optimizer class over ``inner`` (a ``shendu.optim`` class): ``defaults`` are its Keras
    arguments after ``learning_rate`` (name -> Keras default), passed to ``inner`` under ``renames``
    (``epsilon`` is ``eps``; ``beta_1``/``beta_2`` are ``betas``)."""
    names = list(defaults)
    renames = {"epsilon": "eps", **(renames or {})}

    def __init__(self, learning_rate=lr, *args, **kwargs):
        options = {**defaults, **dict(zip(names, args))}
        options.update({key: kwargs.pop(key) for key in names if key in kwargs})
        if "weight_decay" in options:  # AdamW: an optimizer argument with its own default
            kwargs["weight_decay"] = options.pop("weight_decay")
        for key, value in options.items():
            setattr(self, key, value)
        Optimizer.__init__(self, learning_rate, **kwargs)

    def _make(self, params):
        options = {renames.get(k, k): getattr(self, k) for k in defaults if k != "weight_decay"}
        if "beta_1" in options:
            options["betas"] = (options.pop("beta_1"), options.pop("beta_2"))
        return inner(params, lr=self._current_lr(), weight_decay=float(self.weight_decay or 0.0), **options)

    return type(class_name, (Optimizer,), {"__init__": __init__, "__doc__": doc, "_make": _make,
                                           "_defaults": defaults, "__module__": __name__})


_ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
# Keras name, the shendu.optim class, Keras's default learning rate and other arguments, renames.
SGD = _keras_optimizer("SGD", optim.SGD, 0.01, {"momentum": 0.0, "nesterov": False},
                       "Stochastic gradient descent, optional (Nesterov) momentum.")
Adam = _keras_optimizer("Adam", optim.Adam, 0.001, {**_ADAM, "amsgrad": False},
                        "Adam with Keras's defaults (epsilon 1e-7).")
AdamW = _keras_optimizer("AdamW", optim.AdamW, 0.001, {"weight_decay": 0.004, **_ADAM, "amsgrad": False},
                         "Adam with decoupled weight decay.")
RMSprop = _keras_optimizer("RMSprop", optim.RMSprop, 0.001, {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                           "centered": False}, "RMSprop with Keras's defaults (rho 0.9, epsilon 1e-7).",
                           renames={"rho": "alpha"})
Adagrad = _keras_optimizer("Adagrad", optim.Adagrad, 0.001, {"initial_accumulator_value": 0.1,
                           "epsilon": 1e-7}, "Adagrad, accumulators starting at 0.1.")
Adadelta = _keras_optimizer("Adadelta", optim.Adadelta, 0.001, {"rho": 0.95, "epsilon": 1e-7},
                            "Adadelta with Keras's defaults.")
Nadam = _keras_optimizer("Nadam", optim.NAdam, 0.001, dict(_ADAM), "Nadam (Adam with Nesterov momentum).")

_BY_NAME = {c.__name__.lower(): c for c in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Nadam)}


def _not_an_optimizer(obj):
    raise TypeError(f"optimizer must be a name, a config dict or an optimizer object, got {obj!r}")


_REGISTRY = Registry("optimizer", names=_BY_NAME, classes=set(_BY_NAME.values()), base=Optimizer,
                     passthrough=lambda obj: hasattr(obj, "param_groups") and hasattr(obj, "step"),  # optim
                     wrap=_not_an_optimizer)


get, serialize, deserialize = _REGISTRY.get, _REGISTRY.serialize, _REGISTRY.deserialize
