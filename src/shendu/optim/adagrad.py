"""Adagrad: per-coordinate step sizes that shrink with the sum of squared gradients."""
from ..backend import xp
from .optimizer import Optimizer, _decayed_grad

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), with PyTorch's update rule, names and defaults.

    With g the gradient (negated when ``maximize``), t the step count (from 1), η = ``lr``::

        g ← g + λ·θ                              (λ = weight_decay, if ≠ 0)
        η_t ← η / (1 + (t − 1)·lr_decay)
        s ← s + g²                               (s starts at initial_accumulator_value)
        θ ← θ − η_t · g / (√s + ε)

    Coordinates that have seen large gradients take smaller steps; the step sizes only ever shrink.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 *, maximize=False):
        if lr_decay < 0.0:
            raise ValueError(f"Adagrad: invalid lr_decay={lr_decay}; it must be >= 0")
        if initial_accumulator_value < 0.0:
            raise ValueError(f"Adagrad: invalid initial_accumulator_value={initial_accumulator_value}; "
                             "it must be >= 0")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        """Add a group; Adagrad creates its accumulators right away, as PyTorch does."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            state = self.state[p]
            if not state:
                self._init_state(p.array, state, group)

    def _init_state(self, param, state, group):
        state["step"] = 0
        state["sum"] = xp.full_like(param, group["initial_accumulator_value"])

    def _update(self, param, grad, state, group):
        state["step"] += 1
        step = state["step"]
        g = _decayed_grad(grad, param, float(group["weight_decay"]), group["maximize"])
        clr = float(group["lr"]) / (1 + (step - 1) * float(group["lr_decay"]))
        acc = state["sum"]
        sq = xp.multiply(g, g)
        acc += sq
        std = xp.sqrt(acc, out=sq)
        std += float(group["eps"])
        delta = xp.divide(g, std, out=std)
        delta *= clr
        param -= delta
