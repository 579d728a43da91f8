"""KL(p ‖ q) = E_p[log p(x) - log q(x)] in closed form, for the pairs PyTorch registers among ours."""
import numpy as np

from .. import ops
from ..tensor import Tensor
from .gamma import Beta, Gamma
from .multivariate_normal import MultivariateNormal, _diag, _mahalanobis_sq
from .simple import Bernoulli, Categorical, Independent, Normal, OneHotCategorical, Uniform

_KL = {}


def register_kl(type_p, type_q):
    """Decorator: ``@register_kl(P, Q) def kl(p, q): ...`` adds a closed form for a pair of types."""
    def add(fn):
        _KL[type_p, type_q] = fn
        return fn
    return add


def kl_divergence(p, q):
    """KL(p ‖ q), batched like the distributions; the most specific registered pair is used."""
    for tp in type(p).__mro__:
        for tq in type(q).__mro__:
            if (tp, tq) in _KL:
                return _KL[tp, tq](p, q)
    raise NotImplementedError(f"no KL divergence is registered for {type(p).__name__} and {type(q).__name__}")


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    """log(σq/σp) + (σp² + (μp - μq)²) / (2σq²) - ½."""
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    """Σ_k p_k (log p_k - log q_k); terms with p_k = 0 count 0, terms with q_k = 0 < p_k are +∞."""
    t = p.probs * (p.logits - q.logits)
    pd, qd = p.probs.array, q.probs.array
    t = ops.where(Tensor(np.broadcast_to(pd == 0, t.shape)), Tensor(np.zeros(t.shape, t.dtype)), t)
    infinite = Tensor(np.broadcast_to((qd == 0) & (pd > 0), t.shape))
    t = ops.where(infinite, Tensor(np.full(t.shape, np.inf, t.dtype)), t)
    return t.sum(axis=-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    """p (softplus(-lq) - softplus(-lp)) + (1 - p)(softplus(lq) - softplus(lp)), in logits l."""
    t1 = p.probs * (ops.softplus(-q.logits) - ops.softplus(-p.logits))
    t2 = (1 - p.probs) * (ops.softplus(q.logits) - ops.softplus(p.logits))
    return t1 + t2


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    """log((hq - lq) / (hp - lp)) when [lp, hp) ⊆ [lq, hq), else +∞."""
    result = ((q.high - q.low) / (p.high - p.low)).log()
    outside = (q.low.array > p.low.array) | (q.high.array < p.high.array)
    return ops.where(Tensor(outside), Tensor(np.full(result.shape, np.inf, result.dtype)), result)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("KL of Independent distributions with different reinterpreted_batch_ndims")
    return p._sum(kl_divergence(p.base_dist, q.base_dist))


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    """αq ln(βp/βq) + lnΓ(αq) − lnΓ(αp) + (αp − αq) ψ(αp) + (βq − βp) αp/βp."""
    a1, b1, a2, b2 = p.concentration, p.rate, q.concentration, q.rate
    return (a2 * (b1 / b2).log() + ops.lgamma(a2) - ops.lgamma(a1) + (a1 - a2) * ops.digamma(a1)
            + (b2 - b1) * (a1 / b1))


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    """ln B(aq, bq) − ln B(ap, bp) + (ap − aq) ψ(ap) + (bp − bq) ψ(bp) + (sq − sp) ψ(sp), s = a + b."""
    a1, b1, a2, b2 = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    s1, s2 = a1 + b1, a2 + b2
    return (q._log_beta() - p._log_beta() + (a1 - a2) * ops.digamma(a1) + (b1 - b2) * ops.digamma(b1)
            + (s2 - s1) * ops.digamma(s1))


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    """Σ ln diag Lq − Σ ln diag Lp + ½ (|Lq⁻¹ Lp|²_F + |Lq⁻¹ (μq − μp)|² − k)."""
    k = p.event_shape[0]
    if q.event_shape != p.event_shape:
        raise ValueError(f"KL between MultivariateNormals of event sizes {k} and {q.event_shape[0]}")
    half_log_det = _diag(q.scale_tril).log().sum(axis=-1) - _diag(p.scale_tril).log().sum(axis=-1)
    shape = np.broadcast_shapes(p.scale_tril.shape, q.scale_tril.shape)
    lq, lp = (ops.broadcast_to(x, shape) if x.shape != shape else x for x in (q.scale_tril, p.scale_tril))
    trace = (ops.linalg.solve_triangular(lq, lp, upper=False) ** 2).sum(axis=(-2, -1))
    return half_log_det + 0.5 * (trace + _mahalanobis_sq(q.scale_tril, q.loc - p.loc) - k)
