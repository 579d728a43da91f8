"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate."""
from ..backend import xp
from .optimizer import Optimizer, _adam_moments_

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2020), with PyTorch's update rule, names and defaults.

    With g the gradient (negated when ``maximize``), (β₁, β₂) = ``betas``, t the step count
    (from 1) and η = ``lr``::

        g ← g + λ·θ        (or θ ← θ·(1 − η·λ) when decoupled_weight_decay)
        m ← β₁·m + (1 − β₁)·g
        v ← β₂·v + (1 − β₂)·g²
        ρ∞ = 2/(1 − β₂) − 1,   ρₜ = ρ∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)
        ρₜ > 5:  r = √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ))
                 θ ← θ − η · m/(1 − β₁ᵗ) · r·√(1 − β₂ᵗ)/(√v + ε)
        else:    θ ← θ − η · m/(1 − β₁ᵗ)              (plain momentum while v is unreliable)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _init_state(self, param, state, group):
        state["step"] = 0
        state["exp_avg"] = xp.zeros_like(param)
        state["exp_avg_sq"] = xp.zeros_like(param)

    def _update(self, param, grad, state, group):
        state["step"] += 1
        step = state["step"]
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        _, exp_avg, exp_avg_sq = _adam_moments_(param, grad, state, group, lr, wd, beta1, beta2)
        bias_correction1 = 1.0 - beta1 ** step
        bias_correction2 = 1.0 - beta2 ** step
        update = xp.divide(exp_avg, bias_correction1)
        update *= lr
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            denom = xp.sqrt(exp_avg_sq)
            denom += eps
            adaptive = xp.divide(bias_correction2 ** 0.5, denom, out=denom)
            update *= adaptive
            update *= rect
        param -= update
