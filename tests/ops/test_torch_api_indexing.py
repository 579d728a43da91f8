"""Indexing, ordering, shape and comparison functions (tests/ops/torch_api/indexing.txt): values and
gradients against PyTorch in float64, gradient checks, and the integer/bool results."""
import numpy as np
import pytest

import shendu as sd

R = np.random.default_rng(11)
A = R.permutation(12).reshape(3, 4) / 7.0 - 0.6          # distinct values: sorting has no ties
B = R.permutation(24).reshape(2, 3, 4) / 11.0 - 1.0
V = R.standard_normal(4)
Z = A.copy()
Z[1, 2] = 0.0                                             # a zero for cumprod's derivative
IDX = np.array([[0, 3], [2, 2], [1, 0]])                  # repeats within a row
UIDX = np.array([[3, 1], [0, 2], [2, 0]])                 # distinct within a row (scatter)
MASK = A > 0


def ix(m, a):
    return m.tensor(np.asarray(a))


# name: (function of a tensor module and a tensor -> a tensor, the input)
CASES = {
    "gather": (lambda m, x: m.gather(x, 1, ix(m, IDX)), A),
    "gather_dim0": (lambda m, x: x.gather(0, ix(m, [[0, 2, 1, 1], [2, 2, 0, 1]])), A),
    "scatter_src": (lambda m, x: x.scatter(1, ix(m, UIDX), x[:, :2] * 2), A),
    "scatter_value": (lambda m, x: m.scatter(x, 1, ix(m, UIDX), 0.5), A),
    "scatter_add": (lambda m, x: m.scatter_add(x, 1, ix(m, IDX), x[:, 1:3] * 3), A),
    "index_select": (lambda m, x: m.index_select(x, 1, ix(m, [3, 0, 3])), A),
    "index_add": (lambda m, x: x.index_add(0, ix(m, [2, 0]), x[:2] * 2, alpha=0.5), A),
    "index_copy": (lambda m, x: x.index_copy(1, ix(m, [1, 3]), x[:, :2] * 3), A),
    "index_fill": (lambda m, x: x.index_fill(1, ix(m, [0, 2]), -1.5), A),
    "take": (lambda m, x: m.take(x, ix(m, [[0, 11], [5, 5]])), A),
    "take_along_dim": (lambda m, x: m.take_along_dim(x, m.argsort(x, dim=1), dim=1), A),
    "take_along_dim_flat": (lambda m, x: x.take_along_dim(ix(m, [1, 7, 7])), A),
    "masked_select": (lambda m, x: m.masked_select(x, ix(m, MASK)), A),
    "masked_select_broadcast": (lambda m, x: x.masked_select(ix(m, [True, False, True, True])), A),
    "masked_scatter": (lambda m, x: x.masked_scatter(ix(m, MASK), x.flip(0) * 2), A),
    "masked_fill": (lambda m, x: m.masked_fill(x, ix(m, MASK), 0.25), A),
    "select": (lambda m, x: m.select(x, -1, 2), B),
    "where_method": (lambda m, x: x.where(ix(m, MASK), x * 3), A),
    "sort": (lambda m, x: m.sort(x, dim=1).values, A),
    "sort_desc_dim0": (lambda m, x: x.sort(0, descending=True)[0], A),
    "msort": (lambda m, x: m.msort(x), A),
    "topk": (lambda m, x: m.topk(x, 2).values, A),
    "topk_smallest_dim0": (lambda m, x: x.topk(2, dim=0, largest=False)[0], A),
    "kthvalue": (lambda m, x: m.kthvalue(x, 2, 1).values, A),
    "kthvalue_keepdim": (lambda m, x: x.kthvalue(3, 0, keepdim=True)[0], A),
    "cummax": (lambda m, x: m.cummax(x, 1).values, A),
    "cummin": (lambda m, x: x.cummin(0)[0], A),
    "flip": (lambda m, x: m.flip(x, [0, 2]), B),
    "flip_method": (lambda m, x: x.flip(1), A),
    "fliplr": (lambda m, x: m.fliplr(x), A),
    "flipud": (lambda m, x: x.flipud(), A),
    "roll": (lambda m, x: m.roll(x, 2, 1), A),
    "roll_flat": (lambda m, x: x.roll(5), A),
    "roll_dims": (lambda m, x: m.roll(x, (1, -1), (0, 2)), B),
    "rot90": (lambda m, x: m.rot90(x), A),
    "rot90_k3": (lambda m, x: x.rot90(3, [1, 2]), B),
    "rot90_k2": (lambda m, x: m.rot90(x, 2), A),
    "unbind": (lambda m, x: m.stack([t * (i + 1) for i, t in enumerate(m.unbind(x, 1))], 0), A),
    "tensor_split": (lambda m, x: m.cat([t * (i + 1) for i, t in enumerate(m.tensor_split(x, 3, dim=1))], 1), A),
    "tensor_split_idx": (lambda m, x: m.cat([t * (i + 1) for i, t in enumerate(x.tensor_split([1, 3]))], 0), A),
    "hsplit": (lambda m, x: m.hsplit(x, 2)[1], A),
    "vsplit": (lambda m, x: x.vsplit([1])[1], A),
    "hstack": (lambda m, x: m.hstack([x, x * 2]), A),
    "hstack_1d": (lambda m, x: m.hstack((x[0], x[1] * 2)), A),
    "vstack": (lambda m, x: m.vstack([x[0], x * 2]), A),
    "dstack": (lambda m, x: m.dstack([x, x * 2]), A),
    "column_stack": (lambda m, x: m.column_stack([x[0], x.T * 2]), A),
    "concat": (lambda m, x: m.concat([x, x * 2], dim=1), A),
    "repeat_interleave": (lambda m, x: m.repeat_interleave(x, 2), A),
    "repeat_interleave_dim": (lambda m, x: x.repeat_interleave(ix(m, [1, 0, 3]), dim=0), A),
    "tile": (lambda m, x: m.tile(x, (2,)), A),
    "tile_method": (lambda m, x: x.tile(2, 1, 2), A),
    "movedim": (lambda m, x: m.movedim(x, 0, -1), B),
    "movedim_many": (lambda m, x: x.movedim((0, 1), (2, 0)), B),
    "moveaxis": (lambda m, x: m.moveaxis(x, 2, 0), B),
    "swapdims": (lambda m, x: m.swapdims(x, 0, 2), B),
    "swapaxes": (lambda m, x: m.swapaxes(x, 1, 2), B),
    "t": (lambda m, x: m.t(x), A),
    "unflatten": (lambda m, x: m.unflatten(x, 1, (2, -1)), A),
    "unflatten_method": (lambda m, x: x.unflatten(-1, (2, 2)), B),
    "ravel": (lambda m, x: m.ravel(x.T), A),
    "view_as": (lambda m, x: x.view_as(x.T), A),
    "reshape_as": (lambda m, x: x.reshape_as(x[0].reshape(2, 2)[None]).expand(3, 2, 2) * 1, A[:1]),
    "broadcast_to": (lambda m, x: m.broadcast_to(x, (2, 3, 4)), A),
    "broadcast_tensors": (lambda m, x: m.broadcast_tensors(x[:1], x[:, :1] * 2)[0]
                          + m.broadcast_tensors(x[:1], x[:, :1] * 2)[1], A),
    "atleast_3d": (lambda m, x: m.atleast_3d(x), A),
    "diag_vector": (lambda m, x: m.diag(x[0], 1), A),
    "diag_matrix": (lambda m, x: x.diag(-1), A),
    "diagonal": (lambda m, x: m.diagonal(x, 1, 0, 2), B),
    "diagonal_method": (lambda m, x: x.diagonal(), A),
    "diag_embed": (lambda m, x: m.diag_embed(x, -1), A),
    "diag_embed_dims": (lambda m, x: x.diag_embed(1, 0, 2), A),
    "diagflat": (lambda m, x: m.diagflat(x[:2, :2]), A),
    "meshgrid": (lambda m, x: m.meshgrid(x[0], x[1, :3] * 2, indexing="ij")[1]
                 + m.meshgrid(x[0], x[1, :3] * 2, indexing="ij")[0], A),
    "meshgrid_xy": (lambda m, x: m.stack(m.meshgrid(x[0], x[1, :3] * 2, indexing="xy")), A),
    "cumsum": (lambda m, x: m.cumsum(x, 1), A),
    "cumsum_method": (lambda m, x: x.cumsum(dim=0), B),
    "cumprod": (lambda m, x: m.cumprod(x, 1), A),
    "cumprod_zero": (lambda m, x: x.cumprod(1), Z),
    "diff": (lambda m, x: m.diff(x), A),
    "diff_n2_prepend": (lambda m, x: x.diff(2, 0, prepend=x[:1] * 3), A),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_in_float64(reference, name):
    fn, a = CASES[name]
    g_seed = sum(map(ord, name))

    def run(module, x):
        y = fn(module, x)
        g = np.random.default_rng(g_seed).standard_normal(tuple(y.shape))
        y.backward(module.tensor(g))
        return {"y": y, "grad": x.grad}

    def torch_side(torch):
        return run(torch, torch.tensor(a, requires_grad=True))

    ref = reference(torch_side)
    ours = run(sd, sd.tensor(a, requires_grad=True))
    assert ours["y"].dtype == np.float64
    np.testing.assert_allclose(ours["y"].numpy().reshape(ref["y"].shape), ref["y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours["grad"].numpy(), ref["grad"], rtol=1e-12, atol=1e-12)


GRADCHECK = ["gather", "scatter_src", "scatter_add", "index_add", "index_copy", "masked_scatter", "sort",
             "topk", "kthvalue", "cummax", "roll_dims", "rot90", "repeat_interleave_dim", "diagonal",
             "diag_embed", "cumsum", "cumprod", "cumprod_zero", "diff_n2_prepend", "take_along_dim"]


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck(name):
    fn, a = CASES[name]
    assert sd.gradcheck(lambda x: fn(sd, x), a)


I = np.array([[0, 3, 3, 1], [2, 0, 0, 1], [1, 1, 2, 2]])
SEQ = np.array([1.0, 3.0, 3.0, 5.0, 9.0])
Q = np.array([[0.0, 3.0, 4.0], [9.0, 10.0, 1.0]])
F = np.array([[1.0, np.nan, -np.inf], [np.inf, 0.0, 2.5]])


def _integer_results(m):
    x, i, f, seq = ix(m, A), ix(m, I), ix(m, F), ix(m, SEQ)
    u = m.unique(i, return_inverse=True, return_counts=True)
    ud = m.unique(ix(m, [[1, 2], [0, 5], [1, 2]]), dim=0, return_counts=True)
    uc = ix(m, [1, 1, 2, 2, 2, 3, 1, 1]).unique_consecutive(return_inverse=True, return_counts=True)
    nz = m.nonzero(i, as_tuple=True)
    return {
        "sort_idx": m.sort(x, 1, descending=True).indices, "argsort": x.argsort(0),
        "argsort_desc": m.argsort(x, dim=1, descending=True), "topk_idx": x.topk(3).indices,
        "kth_idx": m.kthvalue(x, 2, 0).indices, "cummax_ties": m.cummax(ix(m, [1.0, 3.0, 3.0, 2.0, 3.0]), 0)[1],
        "cummin_ties": ix(m, [3.0, 1.0, 1.0, 2.0, 1.0]).cummin(0)[1],
        "sort_int_stable": m.sort(i, dim=1, stable=True)[1], "sort_int_desc_stable": i.sort(dim=1, descending=True, stable=True)[1],
        "argmin": m.argmin(x, dim=1), "argmin_all": m.argmin(x), "argmax_keepdim": m.argmax(x, 0, keepdim=True),
        "nonzero": m.nonzero(i), "nonzero_t0": nz[0], "nonzero_t1": nz[1], "argwhere": i.argwhere(),
        "unique": m.unique(i), "unique_v": u[0], "unique_inv": u[1], "unique_cnt": u[2],
        "unique_dim": ud[0], "unique_dim_cnt": ud[1], "uc": uc[0], "uc_inv": uc[1], "uc_cnt": uc[2],
        "searchsorted": m.searchsorted(seq, ix(m, [3.0, 0.0, 10.0, 4.0])),
        "searchsorted_right": m.searchsorted(seq, ix(m, [3.0, 5.0]), right=True),
        "searchsorted_side": m.searchsorted(seq, ix(m, [3.0, 5.0]), side="right"),
        "searchsorted_2d": m.searchsorted(ix(m, np.sort(Q, 1)), ix(m, [[1.0, 5.0], [2.0, 9.0]])),
        "searchsorted_int32": m.searchsorted(seq, ix(m, [3.0]), out_int32=True),
        "bucketize": m.bucketize(ix(m, [[3.0, 0.5], [9.0, 12.0]]), seq),
        "bucketize_right": m.bucketize(ix(m, [3.0, 5.0, 1.0]), seq, right=True),
        "histc": m.histc(x, bins=5), "histc_range": x.histc(4, min=-0.5, max=0.5),
        "bincount": m.bincount(ix(m, [0, 3, 3, 1])), "bincount_min": ix(m, [2, 2]).bincount(minlength=5),
        "bincount_w": m.bincount(ix(m, [0, 3, 3]), weights=ix(m, [0.5, 1.0, 2.0])),
        "count_nonzero": m.count_nonzero(i), "count_nonzero_dim": i.count_nonzero(dim=1),
        "count_nonzero_dims": m.count_nonzero(ix(m, I.reshape(3, 2, 2)), dim=(0, 2)),
        "eq": m.eq(i, 1), "ne": m.ne(i, ix(m, I[::-1].copy())), "lt": m.lt(x, 0), "le": m.le(i, 1),
        "gt": m.gt(x, x.T.reshape(3, 4)), "ge": m.ge(i, 2), "greater": x.greater(0.1), "less": m.less(x, 0.1),
        "greater_equal": i.greater_equal(1), "less_equal": m.less_equal(i, 1), "not_equal": i.not_equal(0),
        "isclose": m.isclose(ix(m, [1.0, 1.0 + 1e-6, np.nan]), ix(m, [1.0, 1.0, np.nan])),
        "isclose_nan": ix(m, [1.0, np.nan]).isclose(ix(m, [1.1, np.nan]), atol=0.2, equal_nan=True),
        "isnan": m.isnan(f), "isinf": f.isinf(), "isfinite": m.isfinite(f), "isposinf": m.isposinf(f),
        "isneginf": f.isneginf(), "logical_and": m.logical_and(i, x > 0), "logical_or": i.logical_or(x > 0),
        "logical_xor": m.logical_xor(i, x > 0), "logical_not": m.logical_not(i), "lnot": (x > 0).logical_not(),
        "any": m.any(i), "any_dim": m.any(i > 2, dim=1), "all_keepdim": m.all(i, dim=0, keepdim=True),
        "any_method_keepdim": (i > 2).any(1, True), "all_method": i.all(dim=1),
        "triu_indices": m.triu_indices(3, 4), "triu_indices_k": m.triu_indices(4, 3, 1),
        "tril_indices": m.tril_indices(3, 3), "tril_indices_k": m.tril_indices(3, 4, -1),
        "repeat_interleave_counts": m.repeat_interleave(ix(m, [2, 0, 3])),
        "view_int32": ix(m, np.array([1.0, -2.0], np.float32)).view(m.int32),
        "view_int16": ix(m, np.array([1.0, 2.5], np.float32)).view(m.int16),
        "view_float64": ix(m, np.arange(4, dtype=np.int32)).view(m.float32),
        "type_as": i.type_as(x), "cumsum_int": m.cumsum(i, 1), "cumprod_bool": m.cumprod(i > 0, 0),
        "diff_bool": m.diff(i > 0), "broadcast_shapes": ix(m, list(m.broadcast_shapes((3, 1), (1, 4), (4,)))),
        "equal": ix(m, [m.equal(x, x * 1), m.equal(x, x + 1), x.equal(x[:1])]),
        "allclose": ix(m, [m.allclose(x, x + 1e-9), x.allclose(x + 1e-3)]),
        "one_hot": m.nn.functional.one_hot(i), "one_hot_n": m.nn.functional.one_hot(i[0], num_classes=6),
        "clone": m.clone(i), "scatter_reduce_add": m.scatter(i, 1, ix(m, IDX), 5, reduce="add"),
        "scatter_reduce_mul": i.scatter(1, ix(m, UIDX), ix(m, I[:, :2].copy()), reduce="multiply"), "masked_fill_int": i.masked_fill(i > 1, -1),
        "select_int": m.select(i, 0, -1), "take_int": m.take(i, ix(m, [0, 5])),
    }


def test_integer_and_bool_results_match_torch(reference):
    ref = reference(_integer_results)
    ours = _integer_results(sd)
    assert set(ours) == set(ref)
    for k, v in ours.items():
        arr = v.numpy() if isinstance(v, sd.Tensor) else np.asarray(v)
        want = ref[k]
        assert arr.dtype == want.dtype, f"{k}: dtype {arr.dtype}, PyTorch gives {want.dtype}"
        np.testing.assert_array_equal(arr.reshape(want.shape), want, err_msg=k)


def test_in_place_forms_write_into_the_tensor():
    x = sd.tensor(A)
    y = x.clone()
    assert y.scatter_(1, sd.tensor(UIDX), 0.0) is y
    np.testing.assert_array_equal(y.numpy(), sd.scatter(x, 1, sd.tensor(UIDX), 0.0).numpy())
    y = x.clone().scatter_add_(0, sd.tensor([[0, 2, 2, 1]]), x[:1])
    np.testing.assert_array_equal(y.numpy(), x.scatter_add(0, sd.tensor([[0, 2, 2, 1]]), x[:1]).numpy())
    y = x.clone().index_add_(1, sd.tensor([0, 0]), x[:, :2])
    np.testing.assert_array_equal(y.numpy(), x.index_add(1, sd.tensor([0, 0]), x[:, :2]).numpy())
    y = x.clone().index_fill_(0, sd.tensor([1]), 7.0)
    assert (y.numpy()[1] == 7).all() and (y.numpy()[0] == A[0]).all()
    y = x.clone().masked_fill_(sd.tensor(MASK), 0.0)
    assert (y.numpy()[MASK] == 0).all()
    y = x.clone().index_copy_(0, sd.tensor([2]), x[:1])
    np.testing.assert_array_equal(y.numpy()[2], A[0])
    y = x.clone().masked_scatter_(sd.tensor(MASK), sd.zeros(12, dtype=sd.float64))
    assert (y.numpy()[MASK] == 0).all()
    w = sd.tensor(A, requires_grad=True)
    with pytest.raises(RuntimeError, match="in place"):
        w.scatter_(1, sd.tensor(UIDX), 0.0)


def test_errors_name_the_function_and_what_was_wrong():
    x = sd.tensor(A)
    with pytest.raises(IndexError, match="gather: index out of range"):
        x.gather(1, sd.tensor([[4], [0], [0]]))
    with pytest.raises(TypeError, match="gather: index must be an integer"):
        x.gather(1, sd.tensor([[0.0], [0.0], [0.0]]))
    with pytest.raises(sd.ShapeError, match="same number"):
        x.gather(1, sd.tensor([0, 1]))
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        x.sort(2)
    with pytest.raises(IndexError, match="topk: k=5"):
        x.topk(5)
    with pytest.raises(sd.ShapeError, match="masked_scatter: the mask selects"):
        x.masked_scatter(sd.tensor(MASK), sd.zeros(2))
    with pytest.raises(ValueError, match="hsplit"):
        x.hsplit(3)
    with pytest.raises(sd.ShapeError, match="t: expects"):
        sd.t(sd.tensor(B))
    with pytest.raises(sd.ShapeError, match="bincount"):
        sd.bincount(sd.tensor([[1, 2]]))
