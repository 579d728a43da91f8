"""Every differentiable operation, as a plain function over tensors, arrays or Python numbers.

Each function calls one :class:`~shendu.autograd.Function` (see the submodules for the formulas
and derivatives). They are also reachable as ``shendu.add(...)`` and as Tensor methods.
"""
import builtins
import numbers

import numpy as np

from ..tensor import Tensor, _index_key
from . import activation as _act
from . import arithmetic as _ar
from . import linalg as _la
from . import reduction as _red
from . import shape as _sh
from . import special
from .linalg import cholesky, logdet, solve_triangular
from .special import digamma, lgamma


def _s(x):
    """NumPy scalars act like Python numbers (they must not promote float32 tensors to float64)."""
    return x.item() if isinstance(x, np.generic) else x


def add(a, b):
    return _ar.Add.apply(_s(a), _s(b))


def sub(a, b):
    return _ar.Sub.apply(_s(a), _s(b))


def mul(a, b):
    return _ar.Mul.apply(_s(a), _s(b))


def div(a, b):
    return _ar.Div.apply(_s(a), _s(b))


def neg(a):
    return _ar.Neg.apply(a)


def pow(a, b):  # noqa: A001
    return _ar.Pow.apply(_s(a), _s(b))


def exp(a):
    return _ar.Exp.apply(a)


def log(a):
    return _ar.Log.apply(a)


def log1p(a):
    return _ar.Log1p.apply(a)


def expm1(a):
    return _ar.Expm1.apply(a)


def tril(a, diagonal=0):
    """The lower triangle of the last two axes (entries above diagonal ``diagonal`` set to 0)."""
    return _sh.Triangle.apply(a, diagonal=diagonal, upper=False)


def triu(a, diagonal=0):
    """The upper triangle of the last two axes (entries below diagonal ``diagonal`` set to 0)."""
    return _sh.Triangle.apply(a, diagonal=diagonal, upper=True)


def narrow(a, dim, start, length):
    """``a`` restricted to indices start … start+length−1 along ``dim`` (a view's values, as a slice)."""
    dim = dim % a.ndim
    return getitem(a, (slice(None),) * dim + (slice(start, start + length),))


def lp_norm(a, p="fro", dim=None, keepdim=False):
    """‖a‖_p over ``dim`` (all entries by default), as ``torch.norm``: p = 2 or "fro": √Σa²;
    p = 1: Σ|a|; p = inf: max|a|; p = -inf: min|a|; p = 0: the count of non-zeros; else (Σ|a|ᵖ)^(1/p)."""
    if p in ("fro", 2, 2.0):
        return sqrt(sum(a * a, axis=dim, keepdims=keepdim))
    if p in (1, 1.0):
        return sum(abs(a), axis=dim, keepdims=keepdim)
    if p == float("inf"):
        return max(abs(a), axis=dim, keepdims=keepdim)
    if p == float("-inf"):
        return min(abs(a), axis=dim, keepdims=keepdim)
    if p == 0:
        return sum(cast(a != 0, a.dtype), axis=dim, keepdims=keepdim)
    if isinstance(p, str):
        raise ValueError(f"norm: unsupported p={p!r}; use a number, 'fro' or inf")
    return pow(sum(pow(abs(a), p), axis=dim, keepdims=keepdim), 1.0 / p)


def sqrt(a):
    return _ar.Sqrt.apply(a)


def abs(a):  # noqa: A001
    return _ar.Abs.apply(a)


def sin(a):
    return _ar.Sin.apply(a)


def cos(a):
    return _ar.Cos.apply(a)


def clip(a, min=None, max=None):  # noqa: A002
    return _ar.Clip.apply(a, lo=_s(min), hi=_s(max))


clamp = clip


def maximum(a, b):
    return _ar.Maximum.apply(_s(a), _s(b))


def minimum(a, b):
    return _ar.Minimum.apply(_s(a), _s(b))


def where(cond, a, b):
    cond = cond.array if isinstance(cond, Tensor) else np.asarray(cond)
    return _ar.Where.apply(cond, _s(a), _s(b))


def cast(a, dtype):
    return _ar.Cast.apply(a, dtype=np.dtype(dtype))


def clone(a):
    return _ar.Clone.apply(a)


def matmul(a, b):
    return _la.MatMul.apply(a, b)


def linear(x, weight, bias=None):
    """y = x Wᵀ + b, one fused operation (the affine map of ``nn.Linear``)."""
    return _la.Linear.apply(x, weight, bias)


def sum(a, axis=None, keepdims=False):  # noqa: A001
    return _red.Sum.apply(a, axis=axis, keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    return _red.Mean.apply(a, axis=axis, keepdims=keepdims)


def prod(a, axis=None, keepdims=False):
    return _red.Prod.apply(a, axis=axis, keepdims=keepdims)


def max(a, axis=None, keepdims=False):  # noqa: A001
    return _red.Max.apply(a, axis=axis, keepdims=keepdims)


def min(a, axis=None, keepdims=False):  # noqa: A001
    return _red.Min.apply(a, axis=axis, keepdims=keepdims)


def var(a, axis=None, ddof=0, keepdims=False):
    return _red.Var.apply(a, axis=axis, ddof=ddof, keepdims=keepdims)


def std(a, axis=None, ddof=0, keepdims=False):
    return _red.Std.apply(a, axis=axis, ddof=ddof, keepdims=keepdims)


def logsumexp(a, axis=None, keepdims=False):
    return _red.LogSumExp.apply(a, axis=axis, keepdims=keepdims)


def reshape(a, shape):
    return _sh.Reshape.apply(a, shape=tuple(shape) if not isinstance(shape, int) else (shape,))


def flatten(a, start_dim=0, end_dim=-1):
    shape = a.shape
    nd = len(shape)
    start, end = start_dim % nd if nd else 0, end_dim % nd if nd else 0
    if nd == 0:
        return reshape(a, (1,))
    n = 1
    for s in shape[start:end + 1]:
        n *= s
    return reshape(a, shape[:start] + (n,) + shape[end + 1:])


def transpose(a, axes=None):
    nd = len(a.shape)
    return _sh.Transpose.apply(a, axes=tuple(reversed(range(nd))) if axes is None else tuple(axes))


def permute(a, *dims):
    return transpose(a, dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims)


def swapaxes(a, axis1, axis2):
    perm = list(range(len(a.shape)))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(a, perm)


def broadcast_to(a, shape):
    return _sh.BroadcastTo.apply(a, shape=tuple(shape))


def tile(a, reps):
    return _sh.Tile.apply(a, reps=tuple(reps))


def squeeze(a, axis=None):
    shape = a.shape
    if axis is None:
        return reshape(a, tuple(s for s in shape if s != 1))
    axes = {x % len(shape) for x in ((axis,) if isinstance(axis, int) else axis)}
    return reshape(a, tuple(s for i, s in enumerate(shape) if not (i in axes and s == 1)))


def unsqueeze(a, axis):
    shape = list(a.shape)
    shape.insert(axis % (len(shape) + 1), 1)
    return reshape(a, tuple(shape))


expand_dims = unsqueeze


def concatenate(tensors, axis=0, *, dim=None):
    return _sh.Concatenate.apply(*tensors, axis=axis if dim is None else dim)


cat = concatenate


def stack(tensors, axis=0, *, dim=None):
    return _sh.Stack.apply(*tensors, axis=axis if dim is None else dim)


def split(a, split_size_or_sections, axis=0):
    """PyTorch's split: an int is the size of each piece (the last may be smaller); a list gives sizes."""
    n = a.shape[axis]
    if isinstance(split_size_or_sections, numbers.Integral):
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} add up to {builtins.sum(sizes)}, not {n} (axis {axis})")
    cuts = list(np.cumsum(sizes)[:-1])
    return _sh.Split.apply(a, cuts=cuts, axis=axis)


def chunk(a, chunks, axis=0):
    n = a.shape[axis]
    return split(a, -(-n // chunks), axis=axis)


def pad(a, pad_width, value=0.0):
    """Constant padding; ``pad_width`` as in ``numpy.pad`` (an int, a pair, or one pair per axis)."""
    nd = len(a.shape)
    pw = np.broadcast_to(np.asarray(pad_width, dtype=int), (nd, 2)).tolist()
    return _sh.Pad.apply(a, pad_width=tuple(map(tuple, pw)), value=value)


def getitem(a, key):
    return _sh.GetItem.apply(a, key=_index_key(key))


def sigmoid(a):
    return _act.Sigmoid.apply(a)


def tanh(a):
    return _act.Tanh.apply(a)


def relu(a):
    return _act.ReLU.apply(a)


def leaky_relu(a, negative_slope=0.01):
    return _act.LeakyReLU.apply(a, negative_slope=negative_slope)


def elu(a, alpha=1.0):
    return _act.ELU.apply(a, alpha=alpha)


def gelu(a, approximate="none"):
    return _act.GELU.apply(a, approximate=approximate)


def softplus(a, beta=1.0, threshold=20.0):
    return _act.Softplus.apply(a, beta=beta, threshold=threshold)


def softmax(a, axis=-1):
    return _act.Softmax.apply(a, axis=axis)


def log_softmax(a, axis=-1):
    return _act.LogSoftmax.apply(a, axis=axis)




# ----- indexing, ordering, shape and comparison functions with PyTorch's signatures (indexing.py) -----
# ----- element-wise math, reductions and linear algebra with PyTorch's signatures (elementwise.py) -----
from .elementwise import (  # noqa: E402  # noqa: E402
    acos,
    acosh,
    addbmm,
    addcdiv,
    addcmul,
    addmm,
    addmv,
    addr,
    amax,
    amin,
    aminmax,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    baddbmm,
    cdist,
    ceil,
    clamp_max,
    clamp_min,
    cosh,
    cross,
    dist,
    dot,
    einsum,
    erf,
    erfc,
    erfinv,
    exp2,
    fix,
    floor,
    floor_divide,
    fmod,
    frac,
    ger,
    hypot,
    inner,
    kron,
    lerp,
    log2,
    log10,
    logcumsumexp,
    logit,
    matrix_norm,
    median,
    mode,
    mv,
    nan_to_num,
    nanmean,
    nanmedian,
    nansum,
    negative,
    outer,
    positive,
    quantile,
    reciprocal,
    remainder,
    round,
    rsqrt,
    sgn,
    sign,
    sinh,
    square,
    std_mean,
    tan,
    tensordot,
    trace,
    true_divide,
    trunc,
    var_mean,
    vdot,
    vector_norm,
    xlogy,
)
from .indexing import (  # noqa: E402
    all,
    allclose,
    any,
    argsort,
    argwhere,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    bincount,
    broadcast_shapes,
    broadcast_tensors,
    bucketize,
    column_stack,
    count_nonzero,
    cummax,
    cummin,
    cumprod,
    cumsum,
    diag,
    diag_embed,
    diagflat,
    diff,
    dsplit,
    dstack,
    eq,
    equal,
    flip,
    fliplr,
    flipud,
    gather,
    ge,
    greater,
    greater_equal,
    gt,
    histc,
    hsplit,
    hstack,
    index_add,
    index_copy,
    index_fill,
    index_select,
    isclose,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    kthvalue,
    le,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    masked_fill,
    masked_scatter,
    masked_select,
    meshgrid,
    moveaxis,
    movedim,
    msort,
    ne,
    nonzero,
    not_equal,
    ravel,
    repeat_interleave,
    roll,
    rot90,
    row_stack,
    scatter,
    scatter_add,
    searchsorted,
    select,
    sort,
    swapdims,
    t,
    take,
    take_along_dim,
    tensor_split,
    topk,
    tril_indices,
    triu_indices,
    unbind,
    unflatten,
    unique,
    unique_consecutive,
    vsplit,
    vstack,
)
from .linalg import det  # noqa: E402

arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
arcsinh, arccosh, arctanh = asinh, acosh, atanh
