"""Every name of shendu.keras.ops against NumPy (values), plus gradients where the op is differentiable."""
import numpy as np
import pytest

import shendu as sd
from shendu.keras import ops

R = np.random.default_rng(0)
A = R.normal(size=(2, 3)).astype("float32")
B = R.normal(size=(2, 3)).astype("float32")
P = np.abs(A) + 0.5
M = R.normal(size=(3, 4)).astype("float32")
I = np.array([[0, 2], [1, 0]])
IMG = R.normal(size=(1, 4, 4, 2)).astype("float32")


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


CASES = {
    "abs": (lambda: ops.abs(A), np.abs(A)),
    "absolute": (lambda: ops.absolute(A), np.abs(A)),
    "add": (lambda: ops.add(A, B), A + B),
    "all": (lambda: ops.all(A > -5, axis=1), np.all(A > -5, axis=1)),
    "amax": (lambda: ops.amax(A, axis=0), A.max(0)),
    "amin": (lambda: ops.amin(A, axis=0), A.min(0)),
    "any": (lambda: ops.any(A > 1), np.any(A > 1)),
    "arange": (lambda: ops.arange(1, 7, 2), np.arange(1, 7, 2)),
    "arctan": (lambda: ops.arctan(A), np.arctan(A)),
    "arctan2": (lambda: ops.arctan2(A, B), np.arctan2(A, B)),
    "argmax": (lambda: ops.argmax(A, axis=1), A.argmax(1)),
    "argmin": (lambda: ops.argmin(A, axis=1), A.argmin(1)),
    "argsort": (lambda: ops.argsort(A), np.argsort(A, -1)),
    "array": (lambda: ops.array([1.0, 2.0]), np.array([1.0, 2.0], "float32")),
    "average_pool": (lambda: ops.average_pool(IMG, 2), IMG.reshape(1, 2, 2, 2, 2, 2).mean((2, 4))),
    "binary_crossentropy": (lambda: ops.binary_crossentropy((A > 0) * 1.0, sigmoid(A)),
                            -((A > 0) * np.log(sigmoid(A)) + (A <= 0) * np.log(1 - sigmoid(A)))),
    "broadcast_to": (lambda: ops.broadcast_to(A[0], (2, 3)), np.broadcast_to(A[0], (2, 3))),
    "cast": (lambda: ops.cast(A, "int32"), A.astype("int32")),
    "categorical_crossentropy": (lambda: ops.categorical_crossentropy(np.eye(3)[[0, 2]], softmax(A)),
                                 -np.log(softmax(A)[[0, 1], [0, 2]])),
    "ceil": (lambda: ops.ceil(A), np.ceil(A)),
    "clip": (lambda: ops.clip(A, -0.5, 0.5), np.clip(A, -0.5, 0.5)),
    "concatenate": (lambda: ops.concatenate([A, B], axis=1), np.concatenate([A, B], 1)),
    "cond": (lambda: ops.cond(True, lambda: A, lambda: B), A),
    "conv": (lambda: ops.conv(IMG, np.ones((1, 1, 2, 3), "float32")), np.repeat(IMG.sum(-1, keepdims=True), 3, -1)),
    "convert_to_numpy": (lambda: ops.convert_to_numpy(sd.tensor(A)), A),
    "convert_to_tensor": (lambda: ops.convert_to_tensor(A), A),
    "cos": (lambda: ops.cos(A), np.cos(A)),
    "cosh": (lambda: ops.cosh(A), np.cosh(A)),
    "count_nonzero": (lambda: ops.count_nonzero(A > 0), np.count_nonzero(A > 0)),
    "cumprod": (lambda: ops.cumprod(A, axis=1), np.cumprod(A, 1)),
    "cumsum": (lambda: ops.cumsum(A, axis=1), np.cumsum(A, 1)),
    "diag": (lambda: ops.diag(A[0]), np.diag(A[0])),
    "divide": (lambda: ops.divide(A, P), A / P),
    "dot": (lambda: ops.dot(A, M), A @ M),
    "dtype": (lambda: ops.dtype(A), "float32"),
    "einsum": (lambda: ops.einsum("ij,jk->ik", A, M), A @ M),
    "elu": (lambda: ops.elu(A), np.where(A > 0, A, np.exp(A) - 1)),
    "equal": (lambda: ops.equal(A, A), np.ones((2, 3), bool)),
    "erf": (lambda: ops.erf(np.float32(0.5)), 0.5204999),
    "exp": (lambda: ops.exp(A), np.exp(A)),
    "expand_dims": (lambda: ops.expand_dims(A, 1), A[:, None]),
    "expm1": (lambda: ops.expm1(A), np.expm1(A)),
    "eye": (lambda: ops.eye(3), np.eye(3)),
    "flatten": (lambda: ops.flatten(A), A.ravel()),
    "flip": (lambda: ops.flip(A, axis=1), A[:, ::-1]),
    "floor": (lambda: ops.floor(A), np.floor(A)),
    "floor_divide": (lambda: ops.floor_divide(A, P), np.floor_divide(A, P)),
    "fori_loop": (lambda: ops.fori_loop(0, 3, lambda i, v: v + i, 1.0), 4.0),
    "full": (lambda: ops.full((2, 2), 3.0), np.full((2, 2), 3.0)),
    "full_like": (lambda: ops.full_like(A, 2.0), np.full_like(A, 2.0)),
    "gelu": (lambda: ops.gelu(A, approximate=False), A * 0.5 * (1 + np.vectorize(__import__("math").erf)(A / 2 ** 0.5))),
    "greater": (lambda: ops.greater(A, B), A > B),
    "greater_equal": (lambda: ops.greater_equal(A, B), A >= B),
    "hard_sigmoid": (lambda: ops.hard_sigmoid(A), np.clip(A / 6 + 0.5, 0, 1)),
    "identity": (lambda: ops.identity(2), np.eye(2)),
    "image": (lambda: ops.image.resize(IMG, (2, 2), interpolation="nearest"), IMG[:, ::2, ::2]),
    "is_tensor": (lambda: ops.is_tensor(sd.tensor(A)), True),
    "isclose": (lambda: ops.isclose(A, A + 1e-9), np.ones((2, 3), bool)),
    "isfinite": (lambda: ops.isfinite(A), np.isfinite(A)),
    "isinf": (lambda: ops.isinf(A), np.isinf(A)),
    "isnan": (lambda: ops.isnan(A), np.isnan(A)),
    "leaky_relu": (lambda: ops.leaky_relu(A), np.where(A > 0, A, 0.2 * A)),
    "less": (lambda: ops.less(A, B), A < B),
    "less_equal": (lambda: ops.less_equal(A, B), A <= B),
    "linspace": (lambda: ops.linspace(0, 1, 5), np.linspace(0, 1, 5)),
    "log": (lambda: ops.log(P), np.log(P)),
    "log10": (lambda: ops.log10(P), np.log10(P)),
    "log1p": (lambda: ops.log1p(P), np.log1p(P)),
    "log2": (lambda: ops.log2(P), np.log2(P)),
    "log_softmax": (lambda: ops.log_softmax(A), np.log(softmax(A))),
    "logical_and": (lambda: ops.logical_and(A > 0, B > 0), (A > 0) & (B > 0)),
    "logical_not": (lambda: ops.logical_not(A > 0), ~(A > 0)),
    "logical_or": (lambda: ops.logical_or(A > 0, B > 0), (A > 0) | (B > 0)),
    "logical_xor": (lambda: ops.logical_xor(A > 0, B > 0), (A > 0) ^ (B > 0)),
    "logsumexp": (lambda: ops.logsumexp(A, axis=1), np.log(np.exp(A).sum(1))),
    "matmul": (lambda: ops.matmul(A, M), A @ M),
    "max": (lambda: ops.max(A), A.max()),
    "max_pool": (lambda: ops.max_pool(IMG, 2), IMG.reshape(1, 2, 2, 2, 2, 2).max((2, 4))),
    "maximum": (lambda: ops.maximum(A, B), np.maximum(A, B)),
    "mean": (lambda: ops.mean(A, axis=[0, 1]), A.mean()),
    "meshgrid": (lambda: ops.meshgrid(np.arange(2), np.arange(3))[0], np.meshgrid(np.arange(2), np.arange(3))[0]),
    "min": (lambda: ops.min(A, axis=1, keepdims=True), A.min(1, keepdims=True)),
    "minimum": (lambda: ops.minimum(A, B), np.minimum(A, B)),
    "mod": (lambda: ops.mod(A, P), np.mod(A, P)),
    "moments": (lambda: ops.moments(A, axes=[0])[1], A.var(0)),
    "moveaxis": (lambda: ops.moveaxis(A, 0, 1), A.T),
    "multiply": (lambda: ops.multiply(A, B), A * B),
    "ndim": (lambda: ops.ndim(A), 2),
    "negative": (lambda: ops.negative(A), -A),
    "nn": (lambda: ops.nn.relu(A), np.maximum(A, 0)),
    "norm": (lambda: ops.norm(A, axis=1), np.linalg.norm(A, axis=1)),
    "normalize": (lambda: ops.normalize(A), A / np.linalg.norm(A, axis=-1, keepdims=True)),
    "not_equal": (lambda: ops.not_equal(A, B), A != B),
    "one_hot": (lambda: ops.one_hot(np.array([0, 2]), 3), np.eye(3)[[0, 2]]),
    "ones": (lambda: ops.ones((2,)), np.ones(2)),
    "ones_like": (lambda: ops.ones_like(A), np.ones_like(A)),
    "outer": (lambda: ops.outer(A[0], B[0]), np.outer(A[0], B[0])),
    "pad": (lambda: ops.pad(A, [[1, 0], [0, 2]]), np.pad(A, [[1, 0], [0, 2]])),
    "power": (lambda: ops.power(P, 2.0), P ** 2),
    "prod": (lambda: ops.prod(A, axis=0), A.prod(0)),
    "ravel": (lambda: ops.ravel(A), A.ravel()),
    "reciprocal": (lambda: ops.reciprocal(P), 1 / P),
    "relu": (lambda: ops.relu(A), np.maximum(A, 0)),
    "relu6": (lambda: ops.relu6(A * 10), np.clip(A * 10, 0, 6)),
    "repeat": (lambda: ops.repeat(A, 2, axis=0), np.repeat(A, 2, 0)),
    "reshape": (lambda: ops.reshape(A, (3, 2)), A.reshape(3, 2)),
    "roll": (lambda: ops.roll(A, 1, axis=1), np.roll(A, 1, 1)),
    "round": (lambda: ops.round(A), np.round(A)),
    "rsqrt": (lambda: ops.rsqrt(P), 1 / np.sqrt(P)),
    "scatter": (lambda: ops.scatter(np.array([[0, 1]]), np.array([5.0], "float32"), (2, 2)), np.array([[0, 5], [0, 0]])),
    "scatter_update": (lambda: ops.scatter_update(np.zeros((2, 2), "float32"), np.array([[1, 1]]),
                                                  np.array([3.0], "float32")), np.array([[0, 0], [0, 3]])),
    "selu": (lambda: ops.selu(A), 1.0507009873554805 * np.where(A > 0, A, 1.6732632423543772 * (np.exp(A) - 1))),
    "shape": (lambda: ops.shape(A), (2, 3)),
    "sigmoid": (lambda: ops.sigmoid(A), sigmoid(A)),
    "sign": (lambda: ops.sign(A), np.sign(A)),
    "silu": (lambda: ops.silu(A), A * sigmoid(A)),
    "sin": (lambda: ops.sin(A), np.sin(A)),
    "sinh": (lambda: ops.sinh(A), np.sinh(A)),
    "size": (lambda: ops.size(A), 6),
    "slice": (lambda: ops.slice(A, (0, 1), (2, 2)), A[0:2, 1:3]),
    "slice_update": (lambda: ops.slice_update(np.zeros((2, 3), "float32"), (1, 1), np.ones((1, 2), "float32")),
                     np.array([[0, 0, 0], [0, 1, 1]])),
    "softmax": (lambda: ops.softmax(A), softmax(A)),
    "softplus": (lambda: ops.softplus(A), np.log1p(np.exp(A))),
    "softsign": (lambda: ops.softsign(A), A / (1 + np.abs(A))),
    "sort": (lambda: ops.sort(A), np.sort(A)),
    "sparse_categorical_crossentropy": (lambda: ops.sparse_categorical_crossentropy(np.array([0, 2]), softmax(A)),
                                        -np.log(softmax(A)[[0, 1], [0, 2]])),
    "split": (lambda: ops.split(M, 2, axis=1)[1], M[:, 2:]),
    "sqrt": (lambda: ops.sqrt(P), np.sqrt(P)),
    "square": (lambda: ops.square(A), A ** 2),
    "squeeze": (lambda: ops.squeeze(A[:, None]), A),
    "stack": (lambda: ops.stack([A, B], axis=1), np.stack([A, B], 1)),
    "std": (lambda: ops.std(A, axis=1), A.std(1)),
    "stop_gradient": (lambda: ops.stop_gradient(sd.tensor(A, requires_grad=True)), A),
    "subtract": (lambda: ops.subtract(A, B), A - B),
    "sum": (lambda: ops.sum(A, axis=0), A.sum(0)),
    "swapaxes": (lambda: ops.swapaxes(A, 0, 1), A.T),
    "swish": (lambda: ops.swish(A), A * sigmoid(A)),
    "take": (lambda: ops.take(M, I, axis=1), np.take(M, I, axis=1)),
    "take_along_axis": (lambda: ops.take_along_axis(A, np.argsort(A, 1), axis=1), np.sort(A, 1)),
    "tan": (lambda: ops.tan(A), np.tan(A)),
    "tanh": (lambda: ops.tanh(A), np.tanh(A)),
    "tensordot": (lambda: ops.tensordot(A, M, axes=1), A @ M),
    "tile": (lambda: ops.tile(A, (2, 1)), np.tile(A, (2, 1))),
    "top_k": (lambda: ops.top_k(A, 2)[0], -np.sort(-A, 1)[:, :2]),
    "transpose": (lambda: ops.transpose(A), A.T),
    "tri": (lambda: ops.tri(3), np.tri(3)),
    "tril": (lambda: ops.tril(M), np.tril(M)),
    "triu": (lambda: ops.triu(M), np.triu(M)),
    "true_divide": (lambda: ops.true_divide(A, P), A / P),
    "unstack": (lambda: ops.unstack(A)[1], A[1]),
    "var": (lambda: ops.var(A, axis=1), A.var(1)),
    "vectorized_map": (lambda: ops.vectorized_map(lambda r: r * 2, A), A * 2),
    "where": (lambda: ops.where(A > 0, A, B), np.where(A > 0, A, B)),
    "while_loop": (lambda: ops.while_loop(lambda i: i < 5, lambda i: i + 2, 0), 6),
    "zeros": (lambda: ops.zeros((2, 3)), np.zeros((2, 3))),
    "zeros_like": (lambda: ops.zeros_like(A), np.zeros_like(A)),
}


def test_every_name_has_a_case():
    assert sorted(set(ops.__all__) - set(CASES)) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_matches_numpy(name):
    fn, expected = CASES[name]
    got = fn()
    got = got.numpy() if isinstance(got, sd.Tensor) else got
    if isinstance(expected, (str, tuple, bool, int)) and not isinstance(expected, np.ndarray):
        assert got == expected
    else:
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64),
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fn", [lambda x: ops.sum(ops.square(ops.tanh(x)) * ops.exp(x)),
                                lambda x: ops.mean(ops.softmax(ops.matmul(x, ops.transpose(x)))[0] ** 2),
                                lambda x: ops.sum(ops.concatenate([ops.relu(x), ops.sigmoid(x)], axis=1) ** 2),
                                lambda x: ops.sum(ops.image.extract_patches(ops.reshape(x, (1, 2, 2, 1)), 1))])
def test_ops_are_differentiable(fn):
    x = np.random.default_rng(1).normal(size=(2, 2))
    assert sd.gradcheck(fn, x)


def test_ops_take_model_weights_in_keras_layout():
    from shendu.keras import layers

    dense = layers.Dense(3)
    dense.build((None, 2))
    kernel = dense.trainable_weights[0]
    assert ops.shape(kernel) == (2, 3)
    np.testing.assert_allclose(ops.matmul(np.ones((1, 2), "float32"), kernel).numpy(), kernel.numpy().sum(0)[None],
                               rtol=1e-6)


def test_image_extract_patches_and_resize_shapes():
    x = np.arange(2 * 4 * 4 * 3, dtype="float32").reshape(2, 4, 4, 3)
    p = ops.image.extract_patches(x, 2)
    assert ops.shape(p) == (2, 2, 2, 12)
    np.testing.assert_array_equal(p.numpy()[0, 0, 0], x[0, :2, :2].reshape(-1))
    assert ops.shape(ops.image.resize(x, (8, 8))) == (2, 8, 8, 3)
