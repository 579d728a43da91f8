"""NAdam: Adam with Nesterov momentum."""
from ..backend import xp
from .optimizer import Optimizer, _adam_moments_

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), with PyTorch's update rule, names and defaults.

    With g the gradient (negated when ``maximize``), (β₁, β₂) = ``betas``, ψ = ``momentum_decay``,
    t the step count (from 1) and η = ``lr``::

        g ← g + λ·θ        (or θ ← θ·(1 − η·λ) when decoupled_weight_decay)
        μ_t = β₁·(1 − ½·0.96^(t·ψ))               (momentum warm-up schedule)
        m ← β₁·m + (1 − β₁)·g
        v ← β₂·v + (1 − β₂)·g²
        d = √(v / (1 − β₂ᵗ)) + ε
        θ ← θ − η·(1 − μ_t)/(1 − Πᵢ≤t μᵢ) · g/d − η·μ_{t+1}/(1 − Πᵢ≤t+1 μᵢ) · m/d

    The second term looks one momentum step ahead (Nesterov's idea) using μ_{t+1}.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, maximize=False):
        if momentum_decay < 0.0:
            raise ValueError(f"NAdam: invalid momentum_decay={momentum_decay}; it must be >= 0")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _init_state(self, param, state, group):
        state["step"] = 0
        state["mu_product"] = 1.0
        state["exp_avg"] = xp.zeros_like(param)
        state["exp_avg_sq"] = xp.zeros_like(param)

    def _update(self, param, grad, state, group):
        state["step"] += 1
        step = state["step"]
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        psi = float(group["momentum_decay"])
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        g, exp_avg, exp_avg_sq = _adam_moments_(param, grad, state, group, lr, wd, beta1, beta2)
        denom = xp.divide(exp_avg_sq, 1.0 - beta2 ** step)
        xp.sqrt(denom, out=denom)
        denom += eps
        term = xp.divide(g, denom)
        term *= lr * (1.0 - mu) / (1.0 - mu_product)
        param -= term
        xp.divide(exp_avg, denom, out=term)
        term *= lr * mu_next / (1.0 - mu_product * mu_next)
        param -= term
