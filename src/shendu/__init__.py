"""shendu (深度): a deep-learning framework written from the math up on NumPy.

    import shendu as sd
    x = sd.randn(4, 3, requires_grad=True)
    y = (x @ x.T).relu().sum()
    y.backward()            # x.grad now holds dy/dx

Sub-packages (``nn``, ``optim``, ``data``, ``metrics``, ``viz``, ``train``, ``keras``) are
imported on first use, so ``import shendu`` needs NumPy alone.
"""
import importlib

from ._device import device
from .autograd import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    BoolTensor,
    DoubleTensor,
    FloatTensor,
    IntTensor,
    LongTensor,
    arange,
    as_tensor,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .errors import ShapeError
from .gradcheck import GradcheckError, gradcheck

# indexing, ordering, shape and comparison functions with PyTorch's signatures
from .ops import (
    abs,
    add,
    cat,
    cholesky,
    chunk,
    clamp,
    clip,
    clone,
    concatenate,
    cos,
    digamma,
    div,
    exp,
    expm1,
    flatten,
    lgamma,
    linalg,
    log,
    log1p,
    log_softmax,
    logdet,
    lp_norm,
    matmul,
    maximum,
    minimum,
    mul,
    narrow,
    pad,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    special,
    split,
    sqrt,
    squeeze,
    stack,
    sub,
    tanh,
    transpose,
    tril,
    triu,
    unsqueeze,
    where,
)
from .ops import max as _max
from .ops import min as _min
from .ops import sum as _sum
from .ops.indexing import (  # noqa: A004
    all,
    allclose,
    any,
    argmin,
    argsort,
    argwhere,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    bincount,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
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
    diagonal,
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
    swapaxes,
    swapdims,
    t,
    take,
    take_along_dim,
    tensor_split,
    tile,
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
from .random import Generator, initial_seed, manual_seed
from .serialization import load, save
from .tape import GradientTape
from .tensor import (
    Tensor,
    bool_,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)

__version__ = "0.1.0"

float = float32  # noqa: A001  (PyTorch's names: torch.float is float32)
double = float64
mm = bmm = matmul
concat = cat
norm = lp_norm  # torch.norm (ops.norm is the normalisation module)
long = int64
half = float16
sum = _sum  # noqa: A001
max = _max  # noqa: A001
min = _min  # noqa: A001

_SUBMODULES = {"nn", "optim", "data", "metrics", "viz", "train", "keras", "ops", "autograd", "backend",
               "random", "tune", "onnx", "serve", "compress", "rl", "cli", "cuda", "accelerator", "backends",
               "distributions", "utils", "models", "tf"}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'shendu' has no attribute {name!r}")


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):  # noqa: A002
    return input.numel()


def argmax(input, dim=None, axis=None, keepdim=False):  # noqa: A002
    return input.argmax(axis=axis, dim=dim, keepdim=keepdim)




# ----- element-wise math, reductions, linear algebra, sampling and dtypes with PyTorch's signatures -----
from .creation import bernoulli, empty_like, logspace, normal, poisson, randint_like  # noqa: E402
from .ops import (  # noqa: E402, A004
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
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
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
    median,
    mode,
    mv,
    nan_to_num,
    nanmean,
    nanmedian,
    nansum,
    neg,
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
    xlogy,
)
from .ops.elementwise import logsumexp as _torch_logsumexp  # noqa: E402
from .ops.elementwise import mean as _torch_mean  # noqa: E402
from .ops.elementwise import prod, std, var  # noqa: E402
from .ops.elementwise import sum as _torch_sum  # noqa: E402

sum = _torch_sum  # noqa: A001  (torch.sum(x, dim=…, keepdim=…, dtype=…) and (x, axis, keepdims))
mean = _torch_mean
det = linalg.det
logsumexp = _torch_logsumexp
int = int32  # noqa: A001  (torch.int is int32)
short = int16
bool = bool_  # noqa: A001


def is_floating_point(input):  # noqa: A002
    return input.is_floating_point()


def is_nonzero(input):  # noqa: A002
    """The truth of a one-element tensor (an error for any other size, as PyTorch)."""
    if input.numel() != 1:
        raise RuntimeError(f"is_nonzero: a tensor of {input.numel()} elements is ambiguous (expected 1)")
    return builtins_bool(input.item() != 0)


def builtins_bool(x):
    import builtins

    return builtins.bool(x)


class finfo:
    """Limits of a float dtype (eps, max, min, tiny, resolution, bits), as ``torch.finfo``."""

    def __init__(self, type=None):  # noqa: A002
        import numpy as _np

        from .tensor import as_dtype

        info = _np.finfo(as_dtype(type) if type is not None else get_default_dtype())
        self.dtype, self.bits = str(info.dtype), info.bits
        self.eps, self.max, self.min = info.eps.item(), info.max.item(), info.min.item()
        self.tiny = self.smallest_normal = info.tiny.item()
        self.resolution = 10.0 ** -info.precision

    def __repr__(self):
        return f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, eps={self.eps}, " \
               f"tiny={self.tiny}, dtype={self.dtype})"


class iinfo:
    """Limits of an integer dtype (``max``, ``min``, ``bits``), as ``torch.iinfo``."""

    def __init__(self, type):  # noqa: A002
        import numpy as _np

        from .tensor import as_dtype

        info = _np.iinfo(as_dtype(type))
        self.dtype, self.bits, self.max, self.min = str(info.dtype), info.bits, builtins_int(info.max), \
            builtins_int(info.min)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def builtins_int(x):
    import builtins

    return builtins.int(x)
