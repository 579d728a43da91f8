"""Indexing, ordering, shape and comparison functions with PyTorch's signatures.

``gather``/``scatter``/``index_add``/``cumsum``/``roll``/... are :class:`Function` s (forward and
derivative below, in NumPy); the rest are compositions of differentiable operations (``getitem``,
``reshape``, ``transpose``, ``cat``...), or return integer/bool tensors and need no gradient.
Dimensions are PyTorch's ``dim`` (negative counts from the end).
"""
import builtins
import numbers

import numpy as np

from ..autograd import Function
from ..backend import xp
from ..errors import ShapeError
from ..tensor import MinMaxResult, Tensor, _to_array


def _arr(x):
    return x.numpy() if isinstance(x, Tensor) else xp.asarray(x)


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(_to_array(x))


def _dim(dim, ndim):
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"dim {dim} is out of range for a tensor with {ndim} dimensions "
                         f"(expected {-n} … {n - 1})")
    return dim % n


def _along(index, dim):
    """The advanced-index tuple that picks ``a[i₀, …, index[i], …]`` along ``dim`` (``gather``'s map)."""
    grids = list(np.indices(index.shape, sparse=True))
    grids[dim] = index
    return tuple(grids)


def _check_index(name, index, a, dim, src=None):
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name}: index must be an integer tensor, got dtype {index.dtype}")
    if index.ndim != a.ndim and not (a.ndim == 0 and index.ndim <= 1):
        raise ShapeError(f"{name}: index has {index.ndim} dimensions but the input has {a.ndim}; "
                         "they must have the same number")
    for d, n in enumerate(index.shape):
        if d != dim and n > a.shape[d]:
            raise ShapeError(f"{name}: index shape {index.shape} is larger than input shape {a.shape} "
                             f"at dimension {d}")
        if src is not None and np.ndim(src) and n > src.shape[d]:
            raise ShapeError(f"{name}: index shape {index.shape} is larger than src shape {src.shape} "
                             f"at dimension {d}")
    if index.size and (index.max() >= a.shape[dim] or index.min() < -a.shape[dim]):
        raise IndexError(f"{name}: index out of range for dimension {dim} of size {a.shape[dim]} "
                         f"(got values {index.min()} … {index.max()})")


def _part(src, shape):
    """The leading ``shape`` block of ``src`` (``scatter`` reads only the part ``index`` covers)."""
    return src[tuple(slice(0, n) for n in shape)]


class Gather(Function):
    """z[i][j][k] = a[i][index[i][j][k]][k] (for dim = 1);  dz/da adds each gradient element back to
    the position it was read from (positions read twice receive the sum)."""

    def forward(self, a, index, dim):
        _check_index("gather", index, a, dim)
        self.shape, self.key = a.shape, _along(index, dim)
        return a[self.key]

    def backward(self, g):
        out = xp.zeros(self.shape, dtype=g.dtype)
        xp.add.at(out, self.key, g)
        return out, None


class Scatter(Function):
    """z = a, then z[i][index[i][j][k]][k] = src[i][j][k] (dim = 1; ``src`` may be a number);
    dz/da = g with the written positions set to 0;  dz/dsrc[i][j][k] = g[i][index[i][j][k]][k]."""

    def forward(self, a, index, src, dim):
        _check_index("scatter", index, a, dim, src)
        self.key, self.src_shape, self.index_shape = _along(index, dim), np.shape(src), index.shape
        out = a.copy()
        out[self.key] = _part(src, index.shape) if np.ndim(src) else src
        return out

    def backward(self, g):
        ga = None
        if self.needs_grad[0]:
            ga = g.copy()
            ga[self.key] = 0
        gs = None
        if len(self.needs_grad) > 2 and self.needs_grad[2]:
            gs = xp.zeros(self.src_shape, dtype=g.dtype)
            gs[tuple(slice(0, n) for n in self.index_shape)] = g[self.key]
        return ga, None, gs


class ScatterAdd(Function):
    """z = a, then z[i][index[i][j][k]][k] += src[i][j][k] (dim = 1; repeated positions add up);
    dz/da = g;  dz/dsrc[i][j][k] = g[i][index[i][j][k]][k] (0 outside the part ``index`` covers)."""

    def forward(self, a, index, src, dim):
        _check_index("scatter_add", index, a, dim, src)
        self.key, self.src_shape, self.index_shape = _along(index, dim), src.shape, index.shape
        out = a.copy()
        xp.add.at(out, self.key, _part(src, index.shape))
        return out

    def backward(self, g):
        gs = xp.zeros(self.src_shape, dtype=g.dtype)
        gs[tuple(slice(0, n) for n in self.index_shape)] = g[self.key]
        return g, None, gs


def _slab_key(ndim, dim, index):
    return (slice(None),) * dim + (index,)


class IndexAdd(Function):
    """z = a, then z[…, index[i], …] += alpha · source[…, i, …] along ``dim``;
    dz/da = g;  dz/dsource[…, i, …] = alpha · g[…, index[i], …]."""

    def forward(self, a, index, source, dim, alpha=1):
        self.key, self.alpha = _slab_key(a.ndim, dim, index), alpha
        out = a.copy()
        xp.add.at(out, self.key, source * alpha if alpha != 1 else source)
        return out

    def backward(self, g):
        gs = g[self.key]
        return g, None, gs * self.alpha if self.alpha != 1 else gs


class IndexCopy(Function):
    """z = a, then z[…, index[i], …] = source[…, i, …] along ``dim``;
    dz/da = g with the copied slices set to 0;  dz/dsource[…, i, …] = g[…, index[i], …]."""

    def forward(self, a, index, source, dim):
        self.key = _slab_key(a.ndim, dim, index)
        out = a.copy()
        out[self.key] = source
        return out

    def backward(self, g):
        ga = g.copy()
        ga[self.key] = 0
        return ga, None, g[self.key]


class MaskedScatter(Function):
    """z = a, with the positions where ``mask`` is true filled, in order, from source's elements;
    dz/da = g where mask is false (else 0);  dz/dsource: the first n elements (n = mask.sum())
    receive g[mask], the rest 0."""

    def forward(self, a, mask, source):
        self.mask, self.src_shape = mask, source.shape
        n = int(mask.sum())
        if n > source.size:
            raise ShapeError(f"masked_scatter: the mask selects {n} elements but source has only "
                             f"{source.size}")
        out = a.copy()
        out[mask] = source.reshape(-1)[:n]
        return out

    def backward(self, g):
        ga = xp.where(self.mask, 0, g)
        gs = xp.zeros(int(np.prod(self.src_shape)), dtype=g.dtype)
        picked = g[self.mask]
        gs[:picked.size] = picked
        return ga, None, gs.reshape(self.src_shape)


class Roll(Function):
    """z = a with its elements shifted by ``shifts`` along ``dims`` (wrapping around; flattened when
    dims is None);  dz/da rolls the gradient back by −shifts."""

    def forward(self, a, shifts, dims):
        self.shifts, self.dims = shifts, dims
        if dims is None:
            return xp.roll(a.reshape(-1), shifts).reshape(a.shape)
        return xp.roll(a, shifts, dims)

    def backward(self, g):
        neg = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        if self.dims is None:
            return xp.roll(g.reshape(-1), neg).reshape(g.shape)
        return xp.roll(g, neg, self.dims)


def _reverse_cumsum(g, axis):
    return xp.flip(xp.cumsum(xp.flip(g, axis), axis), axis)


class CumSum(Function):
    """zⱼ = Σ_{i≤j} aᵢ along ``dim``;  dz/da: aᵢ's gradient is Σ_{j≥i} gⱼ (a reversed cumulative sum)."""

    def forward(self, a, dim):
        self.dim = dim
        return xp.cumsum(a, axis=dim)

    def backward(self, g):
        return _reverse_cumsum(g, self.dim)


class CumProd(Function):
    """zⱼ = Π_{i≤j} aᵢ along ``dim``;  aᵢ's gradient is Σ_{j≥i} gⱼ · Π_{k≤j, k≠i} aₖ, which is
    Σ_{j≥i} gⱼ zⱼ / aᵢ when no aᵢ is 0 (zeros take the exact products instead)."""

    def forward(self, a, dim):
        self.a, self.dim = a, dim
        self.out = xp.cumprod(a, axis=dim)
        return self.out

    def backward(self, g):
        a, d = self.a, self.dim
        if xp.all(a != 0):
            return _reverse_cumsum(g * self.out, d) / a
        am, gm = xp.moveaxis(a, d, -1), xp.moveaxis(g, d, -1)
        n = am.shape[-1]
        out = xp.zeros_like(am)
        for i in range(n):  # products with aᵢ replaced by 1
            b = am.copy()
            b[..., i] = 1
            p = xp.cumprod(b, axis=-1)
            out[..., i] = (gm[..., i:] * p[..., i:]).sum(-1)
        return xp.moveaxis(out, -1, d)


class DiagEmbed(Function):
    """z[..., i, i + offset] = a[..., i] in two new last axes of size n + |offset| (0 elsewhere);
    dz/da reads the gradient back off that diagonal."""

    def forward(self, a, offset=0):
        n = a.shape[-1]
        m = n + builtins.abs(offset)
        i = np.arange(n)
        self.rows, self.cols = (i, i + offset) if offset >= 0 else (i - offset, i)
        out = xp.zeros(a.shape[:-1] + (m, m), dtype=a.dtype)
        out[..., self.rows, self.cols] = a
        return out

    def backward(self, g):
        return g[..., self.rows, self.cols]


# ----- selecting ---------------------------------------------------------------------------------
def _ops():
    from .. import ops

    return ops


def gather(input, dim, index, *, sparse_grad=False):  # noqa: A002
    """out[i][j][k] = input[i][index[i][j][k]][k] for dim = 1 (``torch.gather``)."""
    return Gather.apply(input, _arr(index), dim=_dim(dim, input.ndim))


def scatter(input, dim, index, src=None, *, value=None, reduce=None):  # noqa: A002
    """A copy of ``input`` with ``src`` (a tensor or a number; or ``value=``) written at ``index``
    along ``dim`` (``torch.scatter``; ``reduce="add"``/``"multiply"`` as PyTorch's deprecated form)."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: give src (a tensor or a number) or value=")
    if reduce in ("add", "multiply"):
        index = _arr(index)
        if not isinstance(src, Tensor):
            src = Tensor(np.full(index.shape, src, dtype=input.dtype))
        if reduce == "add":
            return scatter_add(input, dim, index, src)
        ones = Tensor(np.ones(input.shape, dtype=input.dtype))
        return _ops().mul(input, Scatter.apply(ones, index, src, dim=_dim(dim, input.ndim)))
    if reduce is not None:
        raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
    if not isinstance(src, Tensor):
        src = _ops()._s(src)
    return Scatter.apply(input, _arr(index), src, dim=_dim(dim, input.ndim))


def scatter_add(input, dim, index, src):  # noqa: A002
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats add up)."""
    return ScatterAdd.apply(input, _arr(index), src, dim=_dim(dim, input.ndim))


def index_select(input, dim, index):  # noqa: A002
    """The slices ``index`` (1-D) of ``input`` along ``dim``."""
    index = _arr(index)
    if index.ndim > 1:
        raise ShapeError(f"index_select: index must be 0-D or 1-D, got shape {index.shape}")
    d = _dim(dim, input.ndim)
    return _ops().getitem(input, _slab_key(input.ndim, d, index.reshape(-1)))


def index_add(input, dim, index, source, *, alpha=1):  # noqa: A002
    """A copy of ``input`` with ``alpha · source`` added to the slices ``index`` along ``dim``."""
    d = _dim(dim, input.ndim)
    return IndexAdd.apply(input, _arr(index).reshape(-1), _t(source), dim=d, alpha=alpha)


def index_copy(input, dim, index, source):  # noqa: A002
    """A copy of ``input`` with the slices ``index`` along ``dim`` replaced by ``source``'s."""
    d = _dim(dim, input.ndim)
    return IndexCopy.apply(input, _arr(index).reshape(-1), _t(source), dim=d)


def index_fill(input, dim, index, value):  # noqa: A002
    """A copy of ``input`` with the slices ``index`` along ``dim`` set to ``value``."""
    d = _dim(dim, input.ndim)
    mask = xp.zeros(input.shape[d], dtype=bool)
    mask[_arr(index).reshape(-1)] = True
    mask = mask.reshape((-1,) + (1,) * (input.ndim - d - 1))
    return _ops().where(mask, value, input)


def take(input, index):  # noqa: A002
    """``input`` read as 1-D at ``index``; the result has index's shape."""
    return _ops().getitem(_ops().reshape(input, (-1,)), _arr(index))


def take_along_dim(input, indices, dim=None):  # noqa: A002
    """``gather`` after broadcasting ``input`` and ``indices`` outside ``dim`` (flattened if dim is None)."""
    idx = _arr(indices)
    if dim is None:
        return take(input, idx.reshape(-1))
    d = _dim(dim, input.ndim)
    shape_in, shape_ix = list(input.shape), list(idx.shape)
    shape_in[d] = shape_ix[d] = 1
    common = list(np.broadcast_shapes(tuple(shape_in), tuple(shape_ix)))
    ti, tx = list(common), list(common)
    ti[d], tx[d] = input.shape[d], idx.shape[d]
    if tuple(ti) != input.shape:
        input = _ops().broadcast_to(input, tuple(ti))
    return gather(input, d, xp.broadcast_to(idx, tuple(tx)))


def masked_select(input, mask):  # noqa: A002
    """The elements of ``input`` where ``mask`` (broadcast together) is true, as a 1-D tensor."""
    mask = _arr(mask)
    shape = np.broadcast_shapes(input.shape, mask.shape)
    if shape != input.shape:
        input = _ops().broadcast_to(input, shape)
    return _ops().getitem(input, xp.broadcast_to(mask, shape))


def masked_fill(input, mask, value):  # noqa: A002
    """A copy of ``input`` with ``value`` where ``mask`` is true."""
    return _ops().where(mask, value, input)


def masked_scatter(input, mask, source):  # noqa: A002
    """A copy of ``input`` whose positions where ``mask`` is true take source's elements in order."""
    mask = xp.broadcast_to(_arr(mask).astype(bool), input.shape)
    return MaskedScatter.apply(input, mask, _t(source))


def nonzero(input, *, as_tuple=False):  # noqa: A002
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
    a = _arr(input)
    if as_tuple:
        return tuple(Tensor(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(a)))
    return Tensor(np.argwhere(a).astype(np.int64))


def argwhere(input):  # noqa: A002
    return nonzero(input)


def select(input, dim, index):  # noqa: A002
    """``input`` at ``index`` along ``dim``, that dimension removed."""
    d = _dim(dim, input.ndim)
    return _ops().getitem(input, (slice(None),) * d + (int(index),))


# ----- ordering ------------------------------------------------------------------------------------
def _order(a, axis, descending, stable):
    kind = "stable" if stable or descending else None
    if descending:
        if a.dtype.kind in "bu":
            a = a.astype(np.int64)
        # stable on the reversed array, then reversed: ties keep their first-to-last order
        return xp.argsort(-a, axis=axis, kind="stable")
    return xp.argsort(a, axis=axis, kind=kind)


def sort(input, dim=-1, descending=False, stable=False):  # noqa: A002
    """(values, indices) of ``input`` sorted along ``dim``; ``values`` is differentiable."""
    if input.ndim == 0:
        return MinMaxResult(_ops().clone(input), Tensor(np.zeros((), np.int64)))
    d = _dim(dim, input.ndim)
    idx = _order(input.numpy(), d, descending, stable).astype(np.int64)
    return MinMaxResult(Gather.apply(input, idx, dim=d), Tensor(idx))


def argsort(input, dim=-1, descending=False, stable=False):  # noqa: A002
    return sort(input, dim, descending, stable).indices


def msort(input):  # noqa: A002
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """(values, indices) of the ``k`` largest (or smallest) elements along ``dim``."""
    d = _dim(dim, input.ndim)
    if not 0 <= k <= (input.shape[d] if input.ndim else 1):
        raise IndexError(f"topk: k={k} is out of range for dimension {d} of size "
                         f"{input.shape[d] if input.ndim else 1}")
    idx = _order(input.numpy(), d, largest, True)
    idx = np.take(idx, np.arange(k), axis=d).astype(np.int64)
    return MinMaxResult(Gather.apply(input, idx, dim=d), Tensor(idx))


def kthvalue(input, k, dim=-1, keepdim=False):  # noqa: A002
    """(values, indices) of the ``k``-th smallest element (k counts from 1) along ``dim``."""
    d = _dim(dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if not 1 <= k <= n:
        raise IndexError(f"kthvalue: k={k} is out of range for dimension {d} of size {n}")
    idx = np.take(_order(input.numpy(), d, False, True), [k - 1], axis=d).astype(np.int64)
    values = Gather.apply(input, idx, dim=d)
    if not keepdim:
        values, idx = _ops().squeeze(values, d), idx.squeeze(d)
    return MinMaxResult(values, Tensor(idx))


def _cum_extreme(input, dim, better):
    d = _dim(dim, input.ndim)
    a = input.numpy()
    run = better.accumulate(a, axis=d)
    pos = np.arange(a.shape[d]).reshape((-1,) + (1,) * (a.ndim - d - 1))
    idx = np.maximum.accumulate(np.where(a == run, pos, 0), axis=d).astype(np.int64)
    return MinMaxResult(Gather.apply(input, idx, dim=d), Tensor(idx))


def cummax(input, dim):  # noqa: A002
    """(values, indices): the running maximum along ``dim`` and where it was (the last tie)."""
    return _cum_extreme(input, dim, np.maximum)


def cummin(input, dim):  # noqa: A002
    return _cum_extreme(input, dim, np.minimum)


def _unique_axis(a, axis, return_inverse, return_counts):
    return np.unique(a, axis=axis, return_inverse=return_inverse, return_counts=return_counts)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct elements (or slices along ``dim``) in ascending order, with ``return_inverse``
    (where each element went) and ``return_counts`` as in PyTorch."""
    a = _arr(input)
    d = None if dim is None else _dim(dim, a.ndim)
    res = _unique_axis(a.reshape(-1) if d is None else a, d, return_inverse, return_counts)
    if not (return_inverse or return_counts):
        return Tensor(res)
    res = list(res)
    out = [Tensor(res[0])]
    if return_inverse:
        inv = res[1].reshape(a.shape) if d is None else res[1].reshape(-1)
        out.append(Tensor(inv.astype(np.int64)))
    if return_counts:
        out.append(Tensor(res[-1].astype(np.int64)))
    return tuple(out)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """``input`` with each run of equal consecutive elements (or slices along ``dim``) kept once."""
    a = _arr(input)
    if dim is None:
        moved = a.reshape(-1, 1)
    else:
        d = _dim(dim, a.ndim)
        moved = np.moveaxis(a, d, 0).reshape(a.shape[d], -1)
    n = moved.shape[0]
    new = np.ones(n, dtype=bool)
    if n > 1:
        new[1:] = np.any(moved[1:] != moved[:-1], axis=1)
    starts = np.flatnonzero(new)
    vals = a.reshape(-1)[starts] if dim is None else np.take(a, starts, axis=d)
    out = [Tensor(vals)]
    if return_inverse:
        inv = np.cumsum(new) - 1
        out.append(Tensor((inv.reshape(a.shape) if dim is None else inv).astype(np.int64)))
    if return_counts:
        out.append(Tensor(np.diff(np.append(starts, n)).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):  # noqa: A002
    """For each value of ``input``, the index where it would be inserted into ``sorted_sequence``
    (the last dimension; leading dimensions pair up) to keep it sorted. ``right`` / ``side="right"``
    puts it after equal entries."""
    seq, vals = _arr(sorted_sequence), _arr(input)
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ValueError("searchsorted: side='left' and right=True contradict each other")
        right = side == "right"
    if sorter is not None:
        seq = np.take_along_axis(seq, _arr(sorter), axis=-1)
    how = "right" if right else "left"
    dtype = np.int32 if out_int32 else np.int64
    if seq.ndim == 1:
        return Tensor(np.searchsorted(seq, vals, side=how).astype(dtype))
    if seq.shape[:-1] != vals.shape[:-1]:
        raise ShapeError(f"searchsorted: sorted_sequence {seq.shape} and input {vals.shape} must agree in "
                         "all but the last dimension")
    s2, v2 = seq.reshape(-1, seq.shape[-1]), vals.reshape(-1, vals.shape[-1])
    out = np.stack([np.searchsorted(s, v, side=how) for s, v in zip(s2, v2)])
    return Tensor(out.reshape(vals.shape).astype(dtype))


def bucketize(input, boundaries, *, out_int32=False, right=False):  # noqa: A002
    """The bucket of each value: i with boundaries[i−1] < x ≤ boundaries[i] (``right=True``:
    boundaries[i−1] ≤ x < boundaries[i])."""
    b = _arr(boundaries)
    if b.ndim != 1:
        raise ShapeError(f"bucketize: boundaries must be 1-D, got shape {b.shape}")
    out = np.searchsorted(b, _arr(input), side="right" if right else "left")
    return Tensor(np.asarray(out).astype(np.int32 if out_int32 else np.int64))


# ----- order of elements ---------------------------------------------------------------------------
def flip(input, dims):  # noqa: A002
    """``input`` with the order of elements reversed along each of ``dims``."""
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    ds = {_dim(d, input.ndim) for d in dims}
    return _ops().getitem(input, tuple(slice(None, None, -1) if i in ds else slice(None)
                                       for i in range(input.ndim)))


def fliplr(input):  # noqa: A002
    if input.ndim < 2:
        raise ShapeError(f"fliplr: input must have at least 2 dimensions, got shape {tuple(input.shape)}")
    return flip(input, 1)


def flipud(input):  # noqa: A002
    if input.ndim < 1:
        raise ShapeError("flipud: input must have at least 1 dimension")
    return flip(input, 0)


def roll(input, shifts, dims=None):  # noqa: A002
    """``input`` shifted by ``shifts`` along ``dims`` (elements wrap around); flattened when dims is None."""
    if isinstance(shifts, (tuple, list)):
        shifts = tuple(int(s) for s in shifts)
        if dims is None and len(shifts) != 1:
            raise ValueError("roll: give dims when shifts has several entries")
        if dims is None:
            shifts = shifts[0]
    if dims is not None:
        dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
        if not isinstance(shifts, tuple):
            shifts = (int(shifts),)
        if len(shifts) != len(dims):
            raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
        dims = tuple(_dim(d, input.ndim) for d in dims)
    return Roll.apply(input, shifts=shifts, dims=dims)


def rot90(input, k=1, dims=(0, 1)):  # noqa: A002
    """``input`` rotated by k·90° in the plane ``dims``, from the first towards the second axis."""
    d0, d1 = (_dim(d, input.ndim) for d in dims)
    if d0 == d1:
        raise ValueError(f"rot90: the two dims must differ, got {tuple(dims)}")
    k %= 4
    if k == 0:
        return _ops().clone(input)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 1:
        return swapdims(flip(input, d1), d0, d1)
    return flip(swapdims(input, d0, d1), d1)


# ----- joining and splitting -----------------------------------------------------------------------
def unbind(input, dim=0):  # noqa: A002
    """The slices of ``input`` along ``dim``, that dimension removed, as a tuple."""
    d = _dim(dim, input.ndim)
    return tuple(select(input, d, i) for i in range(input.shape[d]))


def tensor_split(input, indices_or_sections, dim=0):  # noqa: A002
    """``input`` cut into n nearly equal parts (an int; the first ones one larger), or at the given
    indices (a list or a tensor), along ``dim``; parts are views' values, as slices."""
    d = _dim(dim, input.ndim)
    n = input.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        ios = ios.item() if ios.ndim == 0 else ios.tolist()
    if isinstance(ios, numbers.Integral):
        if ios <= 0:
            raise ValueError(f"tensor_split: the number of sections must be positive, got {ios}")
        q, r = divmod(n, int(ios))
        sizes = [q + 1] * r + [q] * (int(ios) - r)
        cuts = list(np.cumsum(sizes)[:-1])
    else:
        cuts = [int(c) for c in ios]
    bounds = [0] + cuts + [n]
    pre = (slice(None),) * d
    return tuple(_ops().getitem(input, pre + (slice(a, builtins.max(a, b)),)) for a, b in
                 zip(bounds[:-1], bounds[1:]))


def hsplit(input, indices_or_sections):  # noqa: A002
    if input.ndim < 1:
        raise ShapeError("hsplit: input must have at least 1 dimension")
    return _ssplit("hsplit", input, indices_or_sections, 1 if input.ndim > 1 else 0)


def vsplit(input, indices_or_sections):  # noqa: A002
    if input.ndim < 2:
        raise ShapeError(f"vsplit: input must have at least 2 dimensions, got shape {tuple(input.shape)}")
    return _ssplit("vsplit", input, indices_or_sections, 0)


def dsplit(input, indices_or_sections):  # noqa: A002
    if input.ndim < 3:
        raise ShapeError(f"dsplit: input must have at least 3 dimensions, got shape {tuple(input.shape)}")
    return _ssplit("dsplit", input, indices_or_sections, 2)


def _ssplit(name, input, ios, dim):  # noqa: A002
    if isinstance(ios, numbers.Integral) and input.shape[dim] % ios:
        raise ValueError(f"{name}: dimension {dim} of size {input.shape[dim]} cannot be split into {ios} "
                         "equal parts")
    return tensor_split(input, ios, dim)


def atleast_1d(*tensors):
    return _atleast(tensors, lambda t: _ops().reshape(t, (1,)) if t.ndim == 0 else t)


def atleast_2d(*tensors):
    def f(t):
        return _ops().reshape(t, (1,) * (2 - t.ndim) + tuple(t.shape)) if t.ndim < 2 else t
    return _atleast(tensors, f)


def atleast_3d(*tensors):
    def f(t):
        if t.ndim == 0:
            return _ops().reshape(t, (1, 1, 1))
        if t.ndim == 1:
            return _ops().reshape(t, (1, t.shape[0], 1))
        if t.ndim == 2:
            return _ops().reshape(t, tuple(t.shape) + (1,))
        return t
    return _atleast(tensors, f)


def _atleast(tensors, f):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(f(_t(t)) for t in tensors[0])
    out = tuple(f(_t(t)) for t in tensors)
    return out[0] if len(out) == 1 else out


def hstack(tensors):
    ts = atleast_1d(list(tensors))
    return _ops().cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    return _ops().cat(atleast_2d(list(tensors)), 0)


row_stack = vstack


def dstack(tensors):
    return _ops().cat(atleast_3d(list(tensors)), 2)


def column_stack(tensors):
    ts = [_ops().reshape(t, (-1, 1)) if t.ndim <= 1 else t for t in map(_t, tensors)]
    return _ops().cat(ts, 1)


# ----- shape ---------------------------------------------------------------------------------------
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):  # noqa: A002
    """Each element (or slice along ``dim``) repeated ``repeats`` times (an int or one count each);
    ``repeat_interleave(counts)`` alone gives 0…n−1 each repeated counts[i] times."""
    if repeats is None:  # torch.repeat_interleave(repeats)
        counts = _arr(input)
        return Tensor(np.repeat(np.arange(counts.size, dtype=np.int64), counts.reshape(-1)))
    if dim is None:
        input, d = _ops().reshape(input, (-1,)), 0
    else:
        d = _dim(dim, input.ndim)
    n = input.shape[d]
    reps = _arr(repeats).reshape(-1) if not isinstance(repeats, numbers.Integral) else repeats
    if not isinstance(reps, numbers.Integral) and reps.size not in (1, n):
        raise ShapeError(f"repeat_interleave: repeats has {reps.size} entries, expected 1 or {n} "
                         f"(dimension {d})")
    idx = np.repeat(np.arange(n), reps)
    return _ops().getitem(input, _slab_key(input.ndim, d, idx))


def tile(input, dims):  # noqa: A002
    """``input`` repeated ``dims`` times per dimension (missing leading entries count as 1)."""
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (int(dims),)
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    from .shape import Tile

    return Tile.apply(input, reps=dims)


def movedim(input, source, destination):  # noqa: A002
    """``input`` with dimension(s) ``source`` moved to position(s) ``destination``."""
    src = (source,) if isinstance(source, numbers.Integral) else tuple(source)
    dst = (destination,) if isinstance(destination, numbers.Integral) else tuple(destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {src} and destination {dst} must have the same length")
    nd = input.ndim
    src, dst = [_dim(s, nd) for s in src], [_dim(s, nd) for s in dst]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _ops().transpose(input, order)


moveaxis = movedim


def swapdims(input, dim0, dim1):  # noqa: A002
    nd = input.ndim
    perm = list(range(nd))
    a, b = _dim(dim0, nd), _dim(dim1, nd)
    perm[a], perm[b] = perm[b], perm[a]
    return _ops().transpose(input, perm)


swapaxes = swapdims


def t(input):  # noqa: A002
    """The transpose of a matrix (0-D and 1-D tensors come back as they are)."""
    if input.ndim > 2:
        raise ShapeError(f"t: expects a tensor with at most 2 dimensions, got shape {tuple(input.shape)}; "
                         "use transpose(dim0, dim1)")
    return input if input.ndim < 2 else swapdims(input, 0, 1)


def unflatten(input, dim, sizes):  # noqa: A002
    """Dimension ``dim`` expanded into ``sizes`` (one entry may be −1)."""
    d = _dim(dim, input.ndim)
    sizes = tuple(int(s) for s in sizes)
    shape = tuple(input.shape)
    return _ops().reshape(input, shape[:d] + sizes + shape[d + 1:])


def ravel(input):  # noqa: A002
    return _ops().reshape(input, (-1,))


def broadcast_shapes(*shapes):
    try:
        return tuple(np.broadcast_shapes(*[(s,) if isinstance(s, numbers.Integral) else tuple(s)
                                           for s in shapes]))
    except ValueError:
        raise ShapeError(f"broadcast_shapes: shapes {list(shapes)} cannot be broadcast together") from None


def broadcast_to(input, size):  # noqa: A002
    """``input`` expanded to ``size`` (−1 keeps a dimension), as ``Tensor.expand``."""
    return _t(input).expand(*size)


def broadcast_tensors(*tensors):
    ts = [_t(x) for x in tensors]
    shape = broadcast_shapes(*[x.shape for x in ts])
    return tuple(x if x.shape == shape else _ops().broadcast_to(x, shape) for x in ts)


# ----- diagonals and grids ------------------------------------------------------------------------
def diagonal(input, offset=0, dim1=0, dim2=1):  # noqa: A002
    """The diagonal ``offset`` of the planes (dim1, dim2), as a new last dimension."""
    nd = input.ndim
    d1, d2 = _dim(dim1, nd), _dim(dim2, nd)
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 must differ, got {dim1} and {dim2}")
    moved = movedim(input, (d1, d2), (nd - 2, nd - 1))
    r, c = moved.shape[-2:]
    if offset >= 0:
        n = builtins.max(0, builtins.min(r, c - offset))
        rows, cols = np.arange(n), np.arange(n) + offset
    else:
        n = builtins.max(0, builtins.min(r + offset, c))
        rows, cols = np.arange(n) - offset, np.arange(n)
    return _ops().getitem(moved, (Ellipsis, rows, cols))


def diag_embed(input, offset=0, dim1=-2, dim2=-1):  # noqa: A002
    """Matrices (in dims dim1, dim2 of the result) whose diagonal ``offset`` holds input's last dimension."""
    out = DiagEmbed.apply(input, offset=offset)
    nd = out.ndim
    d1, d2 = _dim(dim1, nd), _dim(dim2, nd)
    if (d1, d2) == (nd - 2, nd - 1):
        return out
    return movedim(out, (nd - 2, nd - 1), (d1, d2))


def diag(input, diagonal=0):  # noqa: A002
    """A 1-D input becomes a square matrix with it on diagonal ``diagonal``; a 2-D input gives
    its diagonal ``diagonal`` as a 1-D tensor."""
    if input.ndim == 1:
        return DiagEmbed.apply(input, offset=diagonal)
    if input.ndim == 2:
        return globals()["diagonal"](input, diagonal, 0, 1)
    raise ShapeError(f"diag: expects a 1-D or 2-D tensor, got shape {tuple(input.shape)}")


def diagflat(input, offset=0):  # noqa: A002
    return DiagEmbed.apply(_ops().reshape(input, (-1,)), offset=offset)


def triu_indices(row, col, offset=0, *, dtype=np.int64, device=None, layout=None):
    """The (2, n) row/column indices of the upper triangle of a row × col matrix (from diagonal offset)."""
    r, c = np.triu_indices(row, offset, col)
    return Tensor(np.stack([r, c]).astype(dtype))


def tril_indices(row, col, offset=0, *, dtype=np.int64, device=None, layout=None):
    """The (2, n) row/column indices of the lower triangle of a row × col matrix (to diagonal offset)."""
    r, c = np.tril_indices(row, offset, col)
    return Tensor(np.stack([r, c]).astype(dtype))


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids of 1-D tensors: with ``indexing="ij"`` (PyTorch's default) grid i varies
    along dimension i; ``"xy"`` swaps the first two, as NumPy's default."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = [_ops().reshape(_t(x), (-1,)) for x in tensors]
    n = len(ts)
    shape = [x.shape[0] for x in ts]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(ts):
        axis = i if indexing == "ij" or n < 2 or i > 1 else 1 - i
        view = [1] * n
        view[axis] = x.shape[0]
        out.append(_ops().broadcast_to(_ops().reshape(x, tuple(view)), tuple(shape)))
    return tuple(out)


# ----- running sums and counts ---------------------------------------------------------------------
def _acc_dtype(input, dtype):
    from ..tensor import as_dtype

    if dtype is not None:
        return _ops().cast(input, as_dtype(dtype))
    if input.dtype.kind in "biu":  # integers and bools accumulate in int64, as in PyTorch
        return _ops().cast(input, np.int64)
    return input


def cumsum(input, dim, *, dtype=None):  # noqa: A002
    """Running sums along ``dim`` (integers in int64 unless ``dtype`` is given)."""
    x = _acc_dtype(_t(input), dtype)
    return CumSum.apply(x, dim=_dim(dim, x.ndim)) if x.ndim else _ops().clone(x)


def cumprod(input, dim, *, dtype=None):  # noqa: A002
    """Running products along ``dim`` (integers in int64 unless ``dtype`` is given)."""
    x = _acc_dtype(_t(input), dtype)
    return CumProd.apply(x, dim=_dim(dim, x.ndim)) if x.ndim else _ops().clone(x)


def diff(input, n=1, dim=-1, prepend=None, append=None):  # noqa: A002
    """The n-th forward difference out[i] = x[i+1] − x[i] along ``dim`` (after prepend/append)."""
    d = _dim(dim, input.ndim)
    parts = [p for p in (prepend, input, append) if p is not None]
    x = _ops().cat([_t(p) for p in parts], d) if len(parts) > 1 else input
    pre = (slice(None),) * d
    later, earlier = pre + (slice(1, None),), pre + (slice(None, -1),)
    for _ in range(n):
        if x.dtype == np.bool_:
            x = Tensor(np.logical_xor(x.numpy()[later], x.numpy()[earlier]))
        else:
            x = _ops().sub(_ops().getitem(x, later), _ops().getitem(x, earlier))
    return x


def histc(input, bins=100, min=0, max=0):  # noqa: A002
    """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are 0);
    values outside are ignored. Same dtype as the input."""
    a = _arr(input)
    if a.dtype.kind != "f":
        raise TypeError(f"histc: expects a floating-point tensor, got dtype {a.dtype}")
    lo, hi = float(min), float(max)
    if lo == hi:
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise ValueError(f"histc: max ({hi}) must be larger than min ({lo})")
    counts, _ = np.histogram(a.reshape(-1), bins=int(bins), range=(lo, hi))
    return Tensor(counts.astype(a.dtype))


def bincount(input, weights=None, minlength=0):  # noqa: A002
    """How often each non-negative integer occurs in 1-D ``input`` (summing ``weights`` if given)."""
    a = _arr(input)
    if a.ndim != 1 or a.dtype.kind not in "iub":
        raise ShapeError(f"bincount: expects a 1-D integer tensor, got shape {a.shape} and dtype {a.dtype}")
    if a.size and a.min() < 0:
        raise ValueError("bincount: input must be non-negative")
    if weights is None:
        return Tensor(np.bincount(a, minlength=minlength).astype(np.int64))
    w = _arr(weights)
    out = np.bincount(a, weights=w, minlength=minlength)
    return Tensor(out.astype(w.dtype if w.dtype.kind == "f" else np.float64))


def count_nonzero(input, dim=None):  # noqa: A002
    a = _arr(input)
    if isinstance(dim, list):
        dim = tuple(dim)
    return Tensor(np.asarray(np.count_nonzero(a, axis=dim)).astype(np.int64))


# ----- comparison ----------------------------------------------------------------------------------
def _cmp(f):
    def op(input, other):  # noqa: A002
        return Tensor(f(_arr(input), _arr(other)))
    op.__doc__ = f"Element-wise ``{f.__name__}`` of two tensors (or a tensor and a number), as a bool tensor."
    return op


eq = _cmp(np.equal)
ne = not_equal = _cmp(np.not_equal)
lt = less = _cmp(np.less)
le = less_equal = _cmp(np.less_equal)
gt = greater = _cmp(np.greater)
ge = greater_equal = _cmp(np.greater_equal)
logical_and = _cmp(np.logical_and)
logical_or = _cmp(np.logical_or)
logical_xor = _cmp(np.logical_xor)


def logical_not(input):  # noqa: A002
    return Tensor(np.logical_not(_arr(input)))


def equal(input, other):  # noqa: A002
    """True when both tensors have the same shape and elements."""
    a, b = _arr(input), _arr(other)
    return a.shape == b.shape and bool(np.array_equal(a, b))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """|input − other| ≤ atol + rtol·|other|, element-wise."""
    return Tensor(np.isclose(_arr(input), _arr(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    return bool(np.all(isclose(input, other, rtol, atol, equal_nan).numpy()))


def isnan(input):  # noqa: A002
    return Tensor(np.isnan(_arr(input)))


def isinf(input):  # noqa: A002
    return Tensor(np.isinf(_arr(input)))


def isfinite(input):  # noqa: A002
    return Tensor(np.isfinite(_arr(input)))


def isposinf(input):  # noqa: A002
    return Tensor(np.isposinf(_arr(input)))


def isneginf(input):  # noqa: A002
    return Tensor(np.isneginf(_arr(input)))


def _dims(dim):
    return tuple(dim) if isinstance(dim, (list, tuple)) else dim


def any(input, dim=None, keepdim=False):  # noqa: A001,A002
    return Tensor(np.any(_arr(input), axis=_dims(dim), keepdims=keepdim))


def all(input, dim=None, keepdim=False):  # noqa: A001,A002
    return Tensor(np.all(_arr(input), axis=_dims(dim), keepdims=keepdim))


def argmin(input, dim=None, keepdim=False):  # noqa: A002
    return _t(input).argmin(dim=dim, keepdim=keepdim)


def argmax(input, dim=None, keepdim=False):  # noqa: A002
    return _t(input).argmax(dim=dim, keepdim=keepdim)
