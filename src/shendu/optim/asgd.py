"""ASGD: stochastic gradient descent with a decaying step and a running average of the iterates."""
from ..backend import xp
from .optimizer import Optimizer, _as_array, _decayed_grad

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992), with PyTorch's update rule, names and defaults.

    With g the gradient (negated when ``maximize``), t the step count (from 1), η₀ = ``lr``,
    λ = ``lambd``, α = ``alpha`` and t₀ = ``t0``; the step size η starts at η₀ and μ at 1::

        g ← g + w·θ                       (w = weight_decay)
        θ ← θ·(1 − λ·η) − η·g
        ā ← ā + μ·(θ − ā)                 (ā ← θ while μ = 1)
        η ← η₀ / (1 + λ·η₀·t)^α
        μ ← 1 / max(1, t − t₀)

    The parameters follow plain SGD; the average ā (``state['ax']``) only starts averaging after
    t₀ steps and is what the method proposes as its answer (copy it into the model to use it).
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, *, maximize=False):
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _init_state(self, param, state, group):
        state["step"] = 0
        state["eta"] = float(group["lr"])
        state["mu"] = 1.0
        state["ax"] = xp.zeros_like(param)

    def _update(self, param, grad, state, group):
        state["step"] += 1
        step = state["step"]
        lr, lambd, alpha = float(group["lr"]), float(group["lambd"]), float(group["alpha"])
        g = _decayed_grad(grad, param, float(group["weight_decay"]), group["maximize"])
        eta, mu = state["eta"], state["mu"]
        param *= 1.0 - lambd * eta
        param -= eta * g
        ax = state["ax"]
        if mu != 1:
            ax += (param - ax) * mu
        else:
            ax[...] = param
        state["eta"] = lr / ((1.0 + lambd * lr * step) ** alpha)
        state["mu"] = 1.0 / max(1.0, step - float(group["t0"]))

    @staticmethod
    def _restore_value(key, value, param):
        if key in ("eta", "mu"):
            return float(_as_array(value))
        return Optimizer._restore_value(key, value, param)
