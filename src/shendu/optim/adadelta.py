"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
from ..backend import xp
from .optimizer import Optimizer, _decayed_grad, _square_avg_

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), with PyTorch's update rule, names and defaults.

    With g the gradient (negated when ``maximize``), ρ = ``rho``, η = ``lr``::

        g ← g + λ·θ                              (λ = weight_decay, if ≠ 0)
        v ← ρ·v + (1 − ρ)·g²                     (running mean of squared gradients)
        Δ ← √(u + ε) / √(v + ε) · g              (u: running mean of squared updates)
        u ← ρ·u + (1 − ρ)·Δ²
        θ ← θ − η·Δ

    The ratio √(u+ε)/√(v+ε) gives the update the units of θ, so ``lr=1.0`` is the usual choice.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False):
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: invalid rho={rho}; it must be in [0, 1]")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _init_state(self, param, state, group):
        state["step"] = 0
        state["square_avg"] = xp.zeros_like(param)
        state["acc_delta"] = xp.zeros_like(param)

    def _update(self, param, grad, state, group):
        state["step"] += 1
        rho, eps = float(group["rho"]), float(group["eps"])
        g = _decayed_grad(grad, param, float(group["weight_decay"]), group["maximize"])
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        _square_avg_(square_avg, g, rho)
        std = xp.add(square_avg, eps)
        xp.sqrt(std, out=std)
        delta = xp.add(acc_delta, eps)
        xp.sqrt(delta, out=delta)
        delta /= std
        delta *= g
        _square_avg_(acc_delta, delta, rho)
        delta *= float(group["lr"])
        param -= delta
