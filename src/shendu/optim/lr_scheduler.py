"""Learning-rate schedules, with PyTorch's names, arguments and step semantics.

A scheduler changes ``group['lr']`` of every parameter group of an optimizer. Its life cycle is
PyTorch's:

* constructing it records ``group['initial_lr']`` (the base rate) and takes one step, which
  sets the rate for epoch 0 (``last_epoch`` becomes 0);
* call ``scheduler.step()`` once per epoch (or per batch for :class:`OneCycleLR`), **after**
  ``optimizer.step()``; ``last_epoch`` counts the calls;
* ``get_last_lr()`` returns the rates just set, one per group;
* ``state_dict()`` / ``load_state_dict()`` save and restore everything but the optimizer.

Most schedules are written in PyTorch's recursive form (the new rate is computed from the
current ``group['lr']``), so the values agree with PyTorch to the last bit and a schedule composes
with other changes made to the rate.
"""
import math
import types
import warnings
from bisect import bisect_right
from collections import Counter

from .optimizer import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "CosineAnnealingLR", "SequentialLR", "Plateau", "ReduceLROnPlateau", "OneCycleLR"]

_EPOCH_WARNING = ("passing an epoch to scheduler.step() is deprecated; call step() without arguments once "
                  "per epoch (the schedule then follows PyTorch's recursive form)")


def _check_optimizer(name, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name} needs a shendu optimizer (e.g. optim.SGD(...)), "
                        f"got {type(optimizer).__name__}")


def _per_group(name, optimizer, value):
    """One value per parameter group: a list/tuple of the right length, or a scalar repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"expected {len(optimizer.param_groups)} values for {name} (one per parameter "
                             f"group), got {len(value)}")
        return list(value)
    return [value] * len(optimizer.param_groups)


class LRScheduler:
    """Base class: subclasses implement ``get_lr()`` (and optionally ``_get_closed_form_lr()``)."""

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(type(self).__name__, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr' although "
                                   f"last_epoch={last_epoch}; resuming needs the optimizer's state loaded "
                                   "first (optimizer.load_state_dict), or use last_epoch=-1 for a fresh run")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """Reset the step count and take the step that sets the rate of epoch ``last_epoch + 1``."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The rates for the current ``last_epoch`` (one per group); use ``get_last_lr()`` to read them."""
        raise NotImplementedError

    def get_last_lr(self):
        """The learning rates set by the latest step, one per parameter group."""
        return self._last_lr

    def step(self, epoch=None):
        """Advance one epoch (call after ``optimizer.step()``)."""
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", True):
            warnings.warn("lr_scheduler.step() was called before optimizer.step(): call optimizer.step() "
                          "first, otherwise the first value of the schedule is skipped", UserWarning,
                          stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(_EPOCH_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self._get_closed_form_lr() if hasattr(self, "_get_closed_form_lr") else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Every attribute except the optimizer (restore it with :meth:`load_state_dict`)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)

    def __repr__(self):
        last = getattr(self, "_last_lr", None)
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={last})"


class LambdaLR(LRScheduler):
    """lr = base_lr · lr_lambda(epoch); ``lr_lambda`` is a function, or a list with one per group.

    Example (linear warm-up over 5 epochs): ``LambdaLR(opt, lambda e: min(1.0, (e + 1) / 5))``.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer("LambdaLR", optimizer)
        self.optimizer = optimizer
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(optimizer.param_groups):
                raise ValueError(f"LambdaLR: expected {len(optimizer.param_groups)} lr_lambdas (one per "
                                 f"parameter group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(optimizer.param_groups)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        """The state without the lambdas (plain functions cannot be saved); callable objects keep their
        attributes."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(vars(fn))
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas", [])
        self.__dict__.update(state)
        for fn, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                fn.__dict__.update(saved)


class MultiplicativeLR(LambdaLR):
    """lr ← lr · lr_lambda(epoch) at every step after the first."""

    def get_lr(self):
        if not self._is_initial:
            return [group["lr"] * fn(self.last_epoch)
                    for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)]
        return self._current_lrs()


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs: lr = base_lr · γ^⌊epoch/step_size⌋."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each epoch listed in ``milestones`` (e.g. ``[30, 80]``)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]


class ConstantLR(LRScheduler):
    """lr = base_lr · factor for the first ``total_iters`` epochs, then base_lr."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if not 0 < factor <= 1.0:
            raise ValueError(f"ConstantLR: factor must be in (0, 1], got {factor}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Linear warm-up (or decay): the factor goes from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs, then stays: lr = base_lr · (s + (e − s)·min(epoch, total_iters)/total_iters).
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if not 0 < start_factor <= 1.0:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1.0:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        span = self.end_factor - self.start_factor
        ratio = 1.0 + span / (self.total_iters * self.start_factor + (self.last_epoch - 1) * span)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch: lr = base_lr · γ^epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from base_lr down to ``eta_min`` over ``T_max`` epochs (SGDR without restarts)::

        lr(t) = η_min + ½·(base_lr − η_min)·(1 + cos(π·t / T_max))

    computed recursively from the current rate, as PyTorch does:
    lr(t) = η_min + (lr(t−1) − η_min)·(1 + cos(πt/T)) / (1 + cos(π(t−1)/T)). Past T_max the rate
    climbs back up (the cosine keeps going).
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:
            return [lo + (base - lo) * (1 + math.cos(t * math.pi / T)) / 2 for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [group["lr"] + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, self.optimizer.param_groups)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (group["lr"] - lo) + lo
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        cos = 1 + math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (base - self.eta_min) * cos / 2
                for base in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the epochs in ``milestones``.

    Example (5 epochs of linear warm-up, then cosine)::

        warm = LinearLR(opt, start_factor=0.1, total_iters=5)
        cos = CosineAnnealingLR(opt, T_max=95)
        sched = SequentialLR(opt, [warm, cos], milestones=[5])
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        _check_optimizer("SequentialLR", optimizer)
        if len(schedulers) < 1:
            raise ValueError("SequentialLR needs at least one scheduler")
        for i, s in enumerate(schedulers):
            if not hasattr(s, "optimizer"):
                raise TypeError(f"SequentialLR: schedulers[{i}] is a {type(s).__name__}, not a scheduler")
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError("SequentialLR cannot contain ReduceLROnPlateau (it needs a metric to step)")
            if s.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: schedulers[{i}] ({type(s).__name__}) belongs to a different "
                                 "optimizer; all schedulers must share the one given")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestones for {len(schedulers)} "
                             f"schedulers, got {len(milestones)}")
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo_initial_steps(self)
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def _undo_initial_steps(self, sched):
        """Undo the step each wrapped scheduler took at construction (recursively for nested ones)."""
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._undo_initial_steps(s)
        elif sched is not self and hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        inner = state.pop("_schedulers")
        self.__dict__.update(state)
        for s, sd in zip(self._schedulers, inner):
            s.load_state_dict(sd)


class Plateau:
    """The plateau rule, alone: count the epochs a metric has not improved and say when to act.

    With ``mode='min'`` and ``threshold_mode='rel'`` an epoch improves when metric < best·(1 − threshold)
    (``'abs'``: metric < best − threshold; ``mode='max'`` mirrors both). :meth:`update` returns True after
    more than ``patience`` epochs without improvement, then ``cooldown`` epochs pass during which bad
    epochs are not counted. :class:`ReduceLROnPlateau` and the Keras-style callback
    :class:`shendu.train.ReduceLROnPlateau` both decide with it.
    """

    def __init__(self, mode="min", patience=10, threshold=1e-4, threshold_mode="rel", cooldown=0):
        self.patience = patience
        self.cooldown = cooldown
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def update(self, current):
        """Record one epoch's metric; True when the rate should be reduced now."""
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
            return True
        return False

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def is_better(self, a, best):
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def _init_is_better(self, mode, threshold, threshold_mode):
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError("ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', "
                             f"got {threshold_mode!r}")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode


class ReduceLROnPlateau(LRScheduler, Plateau):
    """Divide the rate by 1/``factor`` when a metric has stopped improving for ``patience`` epochs.

    Call ``scheduler.step(val_loss)`` once per epoch. When the :class:`Plateau` rule fires (more than
    ``patience`` epochs without an improvement of ``threshold``, outside ``cooldown``),
    lr ← max(lr·factor, min_lr) in every group (skipped when the change is below ``eps``).
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau: factor must be < 1.0 (the rate is multiplied by it), "
                             f"got {factor}")
        _check_optimizer("ReduceLROnPlateau", optimizer)
        self.factor = factor
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"ReduceLROnPlateau: expected {len(optimizer.param_groups)} min_lrs "
                                 f"(one per parameter group), got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.eps = eps
        self.last_epoch = 0
        self._step_count = 0
        self._last_lr = self._current_lrs()
        Plateau.__init__(self, mode, patience, threshold, threshold_mode, cooldown)

    def step(self, metrics, epoch=None):
        """Record this epoch's ``metrics`` (a number or a one-element Tensor) and maybe reduce the rate."""
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        self._step_count += 1
        if self.update(current):
            self._reduce_lr()
        self._last_lr = self._current_lrs()

    def _reduce_lr(self):
        if len(self.min_lrs) != len(self.optimizer.param_groups):
            if self.default_min_lr is None:
                raise RuntimeError("ReduceLROnPlateau: the optimizer now has "
                                   f"{len(self.optimizer.param_groups)} parameter groups but min_lr gave "
                                   f"{len(self.min_lrs)} values; update min_lrs")
            self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topor, 2017): a warm-up to ``max_lr``, then a long anneal; step per batch.

    Phases (two by default, three with ``three_phase=True``), each annealed with cosine
    (``anneal_strategy='cos'``) or linearly:

    * ``initial_lr = max_lr/div_factor`` → ``max_lr`` over the first ``pct_start`` of ``total_steps``;
    * (three_phase: back down to ``initial_lr`` over the same number of steps;)
    * → ``min_lr = initial_lr/final_div_factor`` over the rest.

    With ``cycle_momentum`` the momentum (SGD's ``momentum`` or Adam's β₁) moves the opposite way,
    between ``max_momentum`` and ``base_momentum``. Give ``total_steps``, or ``epochs`` and
    ``steps_per_epoch``; call ``step()`` after every batch.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        _check_optimizer("OneCycleLR", optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"OneCycleLR: total_steps must be a positive integer, got {total_steps!r}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"OneCycleLR: epochs must be a positive integer, got {epochs!r}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError("OneCycleLR: steps_per_epoch must be a positive integer, "
                                 f"got {steps_per_epoch!r}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR: give either total_steps, or both epochs and steps_per_epoch")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be a float in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("OneCycleLR: anneal_strategy must be 'cos' or 'linear', "
                             f"got {anneal_strategy!r}")
        n = self.total_steps
        if three_phase:
            self._schedule_phases = [
                dict(end_step=float(pct_start * n) - 1, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * n) - 2, start_lr="max_lr", end_lr="initial_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
                dict(end_step=n - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum"),
            ]
        else:
            self._schedule_phases = [
                dict(end_step=float(pct_start * n) - 1, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=n - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
            ]
        self._anneal_func_type = anneal_strategy
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("OneCycleLR: cycle_momentum=True needs an optimizer with 'momentum' or "
                                 f"'betas'; {type(optimizer).__name__} has neither "
                                 "(pass cycle_momentum=False)")
            self.use_beta1 = "betas" in optimizer.defaults
            max_ms = _per_group("max_momentum", optimizer, max_momentum)
            base_ms = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for top, low, group in zip(max_ms, base_ms, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (top, *group["betas"][1:])
                    else:
                        group["momentum"] = top
                    group["max_momentum"] = top
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _annealing_cos(start, end, pct):
        """Cosine from ``start`` (pct=0) to ``end`` (pct=1): end + (start − end)/2 · (1 + cos(π·pct))."""
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    @staticmethod
    def _annealing_linear(start, end, pct):
        """Straight line from ``start`` (pct=0) to ``end`` (pct=1)."""
        return (end - start) * pct + start

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return self._annealing_cos(start, end, pct)
        return self._annealing_linear(start, end, pct)

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times, but total_steps is "
                             f"{self.total_steps}; "
                             "make total_steps (or epochs·steps_per_epoch) cover the whole run")
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == last:
                    pct = (step - start_step) / (end_step - start_step)
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]],
                                                group[phase["end_momentum"]], pct)
                    break
                start_step = phase["end_step"]
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs


# ----- step schedules: ``schedule(step) -> lr`` in closed form (Keras's decay schedules) ----------------
class StepSchedule:
    """A learning rate as a closed-form function of the optimizer step: ``schedule(step) -> float``.

    These are the decay formulas Keras names ``ExponentialDecay``, ``CosineDecay``...; hand one to
    :class:`ScheduleLR` to drive a shendu optimizer, or to a Keras optimizer as ``learning_rate``.
    ``get_config()`` returns the constructor's arguments (``cls.from_config(config)`` rebuilds it).
    Subclasses define ``__call__(step)`` and set ``self._config``.
    """

    _config = {}

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must define __call__(step)")

    def get_config(self):
        return dict(self._config)

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._config.items())
        return f"{type(self).__name__}({args})"


def _positive(name, what, value):
    if not value > 0:
        raise ValueError(f"{name}: {what} must be > 0, got {value!r}")
    return float(value)


class _RateDecay(StepSchedule):
    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        self._config = dict(initial_learning_rate=initial_learning_rate, decay_steps=decay_steps,
                            decay_rate=decay_rate, staircase=staircase)
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _positive(type(self).__name__, "decay_steps", decay_steps)
        self.decay_rate, self.staircase, self.name = float(decay_rate), bool(staircase), name

    def _progress(self, step):
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p


class ExponentialDecay(_RateDecay):
    """lr(s) = lr₀ · rate^(s / decay_steps), the exponent floored when ``staircase``."""

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


class InverseTimeDecay(_RateDecay):
    """lr(s) = lr₀ / (1 + rate · s / decay_steps), the ratio floored when ``staircase``."""

    def __call__(self, step):
        return self.initial_learning_rate / (1 + self.decay_rate * self._progress(step))


class PiecewiseConstantDecay(StepSchedule):
    """lr(s) = values[0] for s ≤ boundaries[0], values[i] for boundaries[i−1] < s ≤ boundaries[i],
    values[-1] after the last boundary."""

    def __init__(self, boundaries, values, name=None):
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: values needs one more entry than boundaries, got "
                             f"{len(values)} values for {len(boundaries)} boundaries")
        self._config = dict(boundaries=list(boundaries), values=list(values))
        self.boundaries, self.values, self.name = list(boundaries), [float(v) for v in values], name

    def __call__(self, step):
        for b, v in zip(self.boundaries, self.values):
            if step <= b:
                return v
        return self.values[-1]


class PolynomialDecay(StepSchedule):
    """lr(s) = (lr₀ − end)·(1 − min(s, D)/D)^power + end; with ``cycle`` D grows to D·⌈s/D⌉ instead."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name=None):
        self._config = dict(initial_learning_rate=initial_learning_rate, decay_steps=decay_steps,
                            end_learning_rate=end_learning_rate, power=power, cycle=cycle)
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _positive("PolynomialDecay", "decay_steps", decay_steps)
        self.end_learning_rate, self.power, self.cycle = float(end_learning_rate), float(power), bool(cycle)
        self.name = name

    def __call__(self, step):
        steps = self.decay_steps
        if self.cycle:
            steps = steps * max(1.0, math.ceil(step / steps))
        else:
            step = min(step, steps)
        frac = 1 - step / steps
        lr0, end = self.initial_learning_rate, self.end_learning_rate
        return (lr0 - end) * frac ** self.power + end


def _cosine(lr, step, decay_steps, alpha):
    """lr · ((1 − α)·½(1 + cos(π·min(s, D)/D)) + α)."""
    frac = min(step, decay_steps) / decay_steps
    return lr * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * frac)) + alpha)


class CosineDecay(StepSchedule):
    """lr(s) = lr₀ · ((1 − α)·½(1 + cos(π·min(s, D)/D)) + α).

    With ``warmup_target`` the rate first climbs linearly from lr₀ to ``warmup_target`` over
    ``warmup_steps`` steps, then decays as above from ``warmup_target`` (s counted from the warm-up's end).
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None, warmup_target=None,
                 warmup_steps=0):
        self._config = dict(initial_learning_rate=initial_learning_rate, decay_steps=decay_steps, alpha=alpha)
        if warmup_target is not None or warmup_steps:
            self._config.update(warmup_target=warmup_target, warmup_steps=warmup_steps)
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _positive("CosineDecay", "decay_steps", decay_steps)
        self.alpha, self.name = float(alpha), name
        self.warmup_target = None if warmup_target is None else float(warmup_target)
        self.warmup_steps = int(warmup_steps)
        if self.warmup_steps < 0:
            raise ValueError(f"CosineDecay: warmup_steps must be >= 0, got {warmup_steps!r}")

    def __call__(self, step):
        if self.warmup_target is None:
            return _cosine(self.initial_learning_rate, step, self.decay_steps, self.alpha)
        if step < self.warmup_steps:
            return self.initial_learning_rate + (self.warmup_target - self.initial_learning_rate) * (
                step / self.warmup_steps)
        return _cosine(self.warmup_target, step - self.warmup_steps, self.decay_steps, self.alpha)


class CosineDecayRestarts(StepSchedule):
    """SGDR: cosine decay over D₀ = ``first_decay_steps`` steps, then restarts; period i lasts D₀·t_mulⁱ
    steps and its peak is scaled by m_mulⁱ. Within period i at fraction f of it:
    lr = lr₀·((1 − α)·m_mulⁱ·½(1 + cos πf) + α)."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name=None):
        self._config = dict(initial_learning_rate=initial_learning_rate, first_decay_steps=first_decay_steps,
                            t_mul=t_mul, m_mul=m_mul, alpha=alpha)
        self.initial_learning_rate = float(initial_learning_rate)
        self.first_decay_steps = _positive("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self.t_mul = _positive("CosineDecayRestarts", "t_mul", t_mul)
        self.m_mul, self.alpha, self.name = float(m_mul), float(alpha), name

    def __call__(self, step):
        f = step / self.first_decay_steps
        if self.t_mul == 1.0:
            i = math.floor(f)
            f -= i
        else:
            i = math.floor(math.log(1 - f * (1 - self.t_mul)) / math.log(self.t_mul))
            done = (1 - self.t_mul ** i) / (1 - self.t_mul)
            f = (f - done) / self.t_mul ** i
        cos = 0.5 * self.m_mul ** i * (1 + math.cos(math.pi * f))
        return self.initial_learning_rate * ((1 - self.alpha) * cos + self.alpha)


class ScheduleLR(LRScheduler):
    """Drive an optimizer by a step schedule: lr = schedule(last_epoch) at every ``step()`` (one call per
    optimizer step or per epoch, as you choose), e.g. ``ScheduleLR(opt, ExponentialDecay(0.1, 100, 0.5))``."""

    def __init__(self, optimizer, schedule, last_epoch=-1):
        if not callable(schedule):
            raise TypeError(f"ScheduleLR: schedule must be callable (step -> lr), "
                            f"got {type(schedule).__name__}")
        self.schedule = schedule
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [float(self.schedule(self.last_epoch))] * len(self.optimizer.param_groups)

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "schedule")}


__all__ += ["StepSchedule", "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay",
            "PolynomialDecay", "CosineDecay", "CosineDecayRestarts", "ScheduleLR"]
