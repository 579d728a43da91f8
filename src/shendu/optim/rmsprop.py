"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from ..backend import xp
from .optimizer import Optimizer, _compiled_kernels, _decayed_grad, _kernel_arrays, _lerp_, _square_avg_

__all__ = ["RMSprop"]


def _compiled_update(param, grad, state, group, alpha, eps, momentum):
    """``RMSprop._update``'s arithmetic by the one-pass kernel; False (nothing changed) where it does
    not apply (see ``_kernel_arrays``)."""
    centered = bool(group["centered"])
    extra = ((state["grad_avg"],) if centered else ()) + ((state["momentum_buffer"],) if momentum > 0 else ())
    flat = _kernel_arrays(param, grad, state["square_avg"], *extra)
    if flat is None:
        return False
    unused = xp.empty(0, param.dtype)          # not another argument's memory: that would stop vectorising
    grad_avg = flat[3] if centered else unused
    buf = flat[-1] if momentum > 0 else unused
    dt = param.dtype.type
    wd = float(group["weight_decay"])
    weight = 1.0 - alpha                       # _lerp_(ḡ, g, weight): from ḡ below ½, from g above
    _compiled_kernels().rmsprop_update(
        flat[0], flat[1], flat[2], grad_avg, buf, dt(float(group["lr"])), bool(group["maximize"]), dt(wd),
        bool(wd), dt(alpha), dt(1.0 - alpha), centered, dt(weight) if weight < 0.5 else dt(1.0 - weight),
        not weight < 0.5, dt(eps), momentum > 0, dt(momentum))
    return True


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), with PyTorch's update rule, names and defaults.

    With g the gradient (negated when ``maximize``), α = ``alpha``, μ = ``momentum``, η = ``lr``::

        g ← g + λ·θ                              (λ = weight_decay, if ≠ 0)
        v ← α·v + (1 − α)·g²
        centered:  m ← α·m + (1 − α)·g ;  d ← √(v − m²) + ε      (variance instead of 2nd moment)
        otherwise: d ← √v + ε
        momentum > 0:  b ← μ·b + g/d ;  θ ← θ − η·b
        otherwise:     θ ← θ − η·g/d
    """

    _fusable = True    # elementwise update: groups may run as one flat array (see Optimizer)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 *, maximize=False, foreach=None):
        if momentum < 0.0:
            raise ValueError(f"RMSprop: invalid momentum={momentum}; it must be >= 0")
        if alpha < 0.0:
            raise ValueError(f"RMSprop: invalid alpha={alpha}; it must be >= 0")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize, foreach=foreach)
        super().__init__(params, defaults)

    def _init_state(self, param, state, group):
        state["step"] = 0
        state["square_avg"] = xp.zeros_like(param)
        if group["momentum"] > 0:
            state["momentum_buffer"] = xp.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = xp.zeros_like(param)

    def _update(self, param, grad, state, group):
        state["step"] += 1
        alpha, eps, momentum = float(group["alpha"]), float(group["eps"]), float(group["momentum"])
        if group["centered"]:
            state.setdefault("grad_avg", xp.zeros_like(param))
        if momentum > 0:
            state.setdefault("momentum_buffer", xp.zeros_like(param))
        if _compiled_update(param, grad, state, group, alpha, eps, momentum):
            return                                   # the same numbers, in one pass (shendu[fast])
        g = _decayed_grad(grad, param, float(group["weight_decay"]), group["maximize"])
        square_avg = state["square_avg"]
        _square_avg_(square_avg, g, alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            _lerp_(grad_avg, g, 1.0 - alpha)
            avg = xp.multiply(grad_avg, grad_avg)
            xp.subtract(square_avg, avg, out=avg)
            xp.sqrt(avg, out=avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            xp.divide(g, avg, out=avg)
            buf += avg
            xp.multiply(buf, float(group["lr"]), out=avg)
        else:
            xp.divide(g, avg, out=avg)
            avg *= float(group["lr"])
        param -= avg
