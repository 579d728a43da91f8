"""Every name of shendu.tf (and tf.math, tf.nn, tf.random, tf.data) against NumPy."""
import numpy as np
import pytest

import shendu as sd
import shendu.tf as tf

R = np.random.default_rng(0)
A = R.normal(size=(2, 3)).astype("float32")
B = R.normal(size=(2, 3)).astype("float32")
P = np.abs(A) + 0.5


def n(x):
    return x.numpy() if isinstance(x, sd.Tensor) else np.asarray(x)


def sm(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def sig(x):
    return 1 / (1 + np.exp(-x))


TOP = {
    "keras": lambda: tf.keras.layers.Dense is not None,
    "compat": lambda: tf.compat.as_bytes("JFIF") == b"JFIF" and tf.compat.as_text(b"JFIF") == "JFIF",
    "image": lambda: tf.image.resize(np.zeros((1, 4, 4, 1), np.uint8), (8, 8)).shape == (1, 8, 8, 1),
    "repeat": lambda: np.array_equal(n(tf.repeat(A, 2, axis=1)), np.repeat(A, 2, axis=1)),
    "linspace": lambda: np.allclose(n(tf.linspace(0, 1, 5)), np.linspace(0, 1, 5)),
    "data": lambda: len(tf.data.Dataset.from_tensor_slices(A)) == 2,
    "math": lambda: np.allclose(n(tf.math.log(P)), np.log(P)),
    "nn": lambda: np.allclose(n(tf.nn.relu(A)), np.maximum(A, 0)),
    "random": lambda: tf.random.normal((3,)).shape == (3,),
    "strings": lambda: tf.strings.lower("AbC") == "abc",
    "GradientTape": lambda: tf.GradientTape is sd.GradientTape,
    "Variable": lambda: float(n(tf.Variable(2.0) * 3)) == 6.0,
    "Tensor": lambda: isinstance(tf.constant(1.0), tf.Tensor),
    "TensorSpec": lambda: tf.TensorSpec((None, 3)).is_compatible_with(A) and not tf.TensorSpec((3,)).is_compatible_with(A),
    "function": lambda: tf.function(lambda x: x + 1)(1) == 2 and tf.function(jit_compile=True)(abs)(-1) == 1,
    "constant": lambda: n(tf.constant([1, 2], dtype=tf.float32)).dtype == np.float32,
    "convert_to_tensor": lambda: np.array_equal(n(tf.convert_to_tensor(A)), A),
    "cast": lambda: n(tf.cast(A, tf.int32)).dtype == np.int32,
    "shape": lambda: tf.shape(A)[0] == 2,
    "rank": lambda: tf.rank(A) == 2,
    "size": lambda: tf.size(A) == 6,
    "reshape": lambda: tf.reshape(A, [3, 2]).shape == (3, 2),
    "concat": lambda: np.allclose(n(tf.concat([A, B], axis=0)), np.concatenate([A, B])),
    "stack": lambda: tf.stack([A, B], axis=1).shape == (2, 2, 3),
    "unstack": lambda: np.allclose(n(tf.unstack(A)[1]), A[1]),
    "expand_dims": lambda: tf.expand_dims(A, -1).shape == (2, 3, 1),
    "squeeze": lambda: tf.squeeze(A[None]).shape == (2, 3),
    "transpose": lambda: np.allclose(n(tf.transpose(A)), A.T),
    "tile": lambda: tf.tile(A, [2, 2]).shape == (4, 6),
    "gather": lambda: np.allclose(n(tf.gather(A, [1, 0])), A[[1, 0]]),
    "one_hot": lambda: np.allclose(n(tf.one_hot([0, 2], 3)), np.eye(3)[[0, 2]]),
    "clip_by_value": lambda: np.allclose(n(tf.clip_by_value(A, -0.1, 0.1)), np.clip(A, -0.1, 0.1)),
    "clip_by_norm": lambda: np.isclose(np.linalg.norm(n(tf.clip_by_norm(A * 10, 1.0))), 1.0),
    "clip_by_global_norm": lambda: np.isclose(np.sqrt(sum((n(t) ** 2).sum() for t in
                                                          tf.clip_by_global_norm([A, B], 0.5)[0])), 0.5),
    "where": lambda: np.allclose(n(tf.where(A > 0, A, B)), np.where(A > 0, A, B)),
    "argmax": lambda: np.array_equal(n(tf.argmax(A, axis=1)), A.argmax(1)),
    "argmin": lambda: np.array_equal(n(tf.argmin(A)), A.argmin(0)),
    "range": lambda: np.array_equal(n(tf.range(5)), np.arange(5)),
    "zeros": lambda: n(tf.zeros((2, 2))).sum() == 0,
    "ones": lambda: n(tf.ones((2, 2))).sum() == 4,
    "zeros_like": lambda: n(tf.zeros_like(A)).shape == (2, 3),
    "ones_like": lambda: n(tf.ones_like(A)).sum() == 6,
    "fill": lambda: np.array_equal(n(tf.fill([2], 7)), [7, 7]),
    "identity": lambda: np.allclose(n(tf.identity(A)), A),
    "stop_gradient": lambda: not tf.stop_gradient(sd.tensor(A, requires_grad=True)).requires_grad,
    "matmul": lambda: np.allclose(n(tf.matmul(A, B, transpose_b=True)), A @ B.T, atol=1e-6),
    "add": lambda: np.allclose(n(tf.add(A, B)), A + B),
    "subtract": lambda: np.allclose(n(tf.subtract(A, B)), A - B),
    "multiply": lambda: np.allclose(n(tf.multiply(A, B)), A * B),
    "divide": lambda: np.allclose(n(tf.divide(A, P)), A / P),
    "square": lambda: np.allclose(n(tf.square(A)), A ** 2),
    "sqrt": lambda: np.allclose(n(tf.sqrt(P)), np.sqrt(P)),
    "exp": lambda: np.allclose(n(tf.exp(A)), np.exp(A)),
    "log": lambda: np.allclose(n(tf.log(P)), np.log(P)),
    "abs": lambda: np.allclose(n(tf.abs(A)), np.abs(A)),
    "maximum": lambda: np.allclose(n(tf.maximum(A, B)), np.maximum(A, B)),
    "minimum": lambda: np.allclose(n(tf.minimum(A, B)), np.minimum(A, B)),
    "sigmoid": lambda: np.allclose(n(tf.sigmoid(A)), sig(A)),
    "tanh": lambda: np.allclose(n(tf.tanh(A)), np.tanh(A)),
    "split": lambda: [t.shape for t in tf.split(np.zeros((2, 6)), [1, 5], axis=1)] == [(2, 1), (2, 5)],
    "reduce_sum": lambda: np.allclose(n(tf.reduce_sum(A, axis=1)), A.sum(1)),
    "reduce_mean": lambda: np.isclose(n(tf.reduce_mean(A)), A.mean()),
    "reduce_max": lambda: np.allclose(n(tf.reduce_max(A, 0)), A.max(0)),
    "reduce_min": lambda: np.allclose(n(tf.reduce_min(A, 0, keepdims=True)), A.min(0, keepdims=True)),
    "reduce_prod": lambda: np.allclose(n(tf.reduce_prod(A, 1)), A.prod(1)),
    "reduce_any": lambda: bool(n(tf.reduce_any(A > 0))) == bool((A > 0).any()),
    "reduce_all": lambda: bool(n(tf.reduce_all(A > -9))),
    "reduce_std": lambda: np.allclose(n(tf.reduce_std(A, 1)), A.std(1)),
    "reduce_logsumexp": lambda: np.allclose(n(tf.reduce_logsumexp(A, 1)), np.log(np.exp(A).sum(1))),
    "equal": lambda: n(tf.equal(A, A)).all(),
    "greater": lambda: np.array_equal(n(tf.greater(A, B)), A > B),
    "less": lambda: np.array_equal(n(tf.less(A, B)), A < B),
    "boolean_mask": lambda: np.allclose(n(tf.boolean_mask(A, A > 0)), A[A > 0]),
    "random_normal_initializer": lambda: tf.random_normal_initializer(0.0, 0.02)((3, 3)).shape == (3, 3),
    "float16": lambda: tf.float16 == np.float16,
    "float32": lambda: tf.float32 == np.float32,
    "float64": lambda: tf.float64 == np.float64,
    "int32": lambda: tf.int32 == np.int32,
    "int64": lambda: tf.int64 == np.int64,
    "uint8": lambda: tf.uint8 == np.uint8,
    "bool": lambda: tf.bool == np.bool_,
    "string": lambda: tf.string == np.str_,
    "config": lambda: tf.config.run_functions_eagerly(True) is None and tf.config.list_physical_devices("GPU") == [],
    "print": lambda: tf.print("x") is None,
    "newaxis": lambda: A[:, tf.newaxis].shape == (2, 1, 3),
    "TensorShape": lambda: tf.TensorShape([1, 2]) == (1, 2),
}

MATH = {
    "reduce_sum": (lambda: tf.math.reduce_sum(A, 0), A.sum(0)),
    "reduce_mean": (lambda: tf.math.reduce_mean(A, 1), A.mean(1)),
    "reduce_max": (lambda: tf.math.reduce_max(A), A.max()),
    "reduce_min": (lambda: tf.math.reduce_min(A), A.min()),
    "reduce_prod": (lambda: tf.math.reduce_prod(A, 0), A.prod(0)),
    "reduce_std": (lambda: tf.math.reduce_std(A, 0), A.std(0)),
    "reduce_logsumexp": (lambda: tf.math.reduce_logsumexp(A, 0), np.log(np.exp(A).sum(0))),
    "reduce_any": (lambda: tf.math.reduce_any(A > 0, 0), (A > 0).any(0)),
    "reduce_all": (lambda: tf.math.reduce_all(A > 0, 0), (A > 0).all(0)),
    "log": (lambda: tf.math.log(P), np.log(P)),
    "log1p": (lambda: tf.math.log1p(P), np.log1p(P)),
    "exp": (lambda: tf.math.exp(A), np.exp(A)),
    "sqrt": (lambda: tf.math.sqrt(P), np.sqrt(P)),
    "square": (lambda: tf.math.square(A), A ** 2),
    "abs": (lambda: tf.math.abs(A), np.abs(A)),
    "sigmoid": (lambda: tf.math.sigmoid(A), sig(A)),
    "tanh": (lambda: tf.math.tanh(A), np.tanh(A)),
    "maximum": (lambda: tf.math.maximum(A, B), np.maximum(A, B)),
    "minimum": (lambda: tf.math.minimum(A, B), np.minimum(A, B)),
    "pow": (lambda: tf.math.pow(P, 3.0), P ** 3),
    "add": (lambda: tf.math.add(A, B), A + B),
    "subtract": (lambda: tf.math.subtract(A, B), A - B),
    "multiply": (lambda: tf.math.multiply(A, B), A * B),
    "divide": (lambda: tf.math.divide(A, P), A / P),
    "floor": (lambda: tf.math.floor(A), np.floor(A)),
    "ceil": (lambda: tf.math.ceil(A), np.ceil(A)),
    "round": (lambda: tf.math.round(A), np.round(A)),
    "sign": (lambda: tf.math.sign(A), np.sign(A)),
    "equal": (lambda: tf.math.equal(A, B), A == B),
    "not_equal": (lambda: tf.math.not_equal(A, B), A != B),
    "greater": (lambda: tf.math.greater(A, B), A > B),
    "less": (lambda: tf.math.less(A, B), A < B),
    "logical_and": (lambda: tf.math.logical_and(A > 0, B > 0), (A > 0) & (B > 0)),
    "logical_or": (lambda: tf.math.logical_or(A > 0, B > 0), (A > 0) | (B > 0)),
    "logical_not": (lambda: tf.math.logical_not(A > 0), A <= 0),
    "argmax": (lambda: tf.math.argmax(A, 1), A.argmax(1)),
    "argmin": (lambda: tf.math.argmin(A, 1), A.argmin(1)),
    "cumsum": (lambda: tf.math.cumsum(A, 1), A.cumsum(1)),
    "softplus": (lambda: tf.math.softplus(A), np.log1p(np.exp(A))),
    "is_nan": (lambda: tf.math.is_nan(A), np.isnan(A)),
    "is_finite": (lambda: tf.math.is_finite(A), np.isfinite(A)),
    "top_k": (lambda: tf.math.top_k(A, 1)[0], A.max(1, keepdims=True)),
    "l2_normalize": (lambda: tf.math.l2_normalize(A, 1), A / np.linalg.norm(A, axis=1, keepdims=True)),
    "divide_no_nan": (lambda: tf.math.divide_no_nan(np.ones(2, "float32"), np.array([0.0, 2.0], "float32")),
                      [0.0, 0.5]),
    "erf": (lambda: tf.math.erf(np.zeros(1, "float32")), [0.0]),
    "rsqrt": (lambda: tf.math.rsqrt(P), 1 / np.sqrt(P)),
    "reciprocal": (lambda: tf.math.reciprocal(P), 1 / P),
    "negative": (lambda: tf.math.negative(A), -A),
}

Z = (A > 0).astype("float32")
NN = {
    "relu": (lambda: tf.nn.relu(A), np.maximum(A, 0)),
    "relu6": (lambda: tf.nn.relu6(A * 10), np.clip(A * 10, 0, 6)),
    "sigmoid": (lambda: tf.nn.sigmoid(A), sig(A)),
    "tanh": (lambda: tf.nn.tanh(A), np.tanh(A)),
    "softmax": (lambda: tf.nn.softmax(A), sm(A)),
    "log_softmax": (lambda: tf.nn.log_softmax(A), np.log(sm(A))),
    "elu": (lambda: tf.nn.elu(A), np.where(A > 0, A, np.exp(A) - 1)),
    "selu": (lambda: tf.nn.selu(A), 1.0507009873554805 * np.where(A > 0, A, 1.6732632423543772 * (np.exp(A) - 1))),
    "gelu": (lambda: tf.nn.gelu(A, approximate=True),
             0.5 * A * (1 + np.tanh(np.sqrt(2 / np.pi) * (A + 0.044715 * A ** 3)))),
    "silu": (lambda: tf.nn.silu(A), A * sig(A)),
    "swish": (lambda: tf.nn.swish(A), A * sig(A)),
    "leaky_relu": (lambda: tf.nn.leaky_relu(A), np.where(A > 0, A, 0.2 * A)),
    "softplus": (lambda: tf.nn.softplus(A), np.log1p(np.exp(A))),
    "sigmoid_cross_entropy_with_logits": (lambda: tf.nn.sigmoid_cross_entropy_with_logits(labels=Z, logits=A),
                                          np.maximum(A, 0) - A * Z + np.log1p(np.exp(-np.abs(A)))),
    "softmax_cross_entropy_with_logits": (lambda: tf.nn.softmax_cross_entropy_with_logits(np.eye(3)[[0, 2]], A),
                                          -np.log(sm(A)[[0, 1], [0, 2]])),
    "sparse_softmax_cross_entropy_with_logits": (
        lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=np.array([0, 2]), logits=A),
        -np.log(sm(A)[[0, 1], [0, 2]])),
    "l2_normalize": (lambda: tf.nn.l2_normalize(A, axis=1), A / np.linalg.norm(A, axis=1, keepdims=True)),
    "dropout": (lambda: tf.nn.dropout(np.ones((4,), "float32"), 0.0), np.ones(4)),
    "moments": (lambda: tf.nn.moments(A, axes=[0])[0], A.mean(0)),
}


def test_every_name_has_a_case():
    assert sorted(set(tf.__all__) - set(TOP)) == []
    assert sorted(set(tf.math.__all__) - set(MATH)) == []
    assert sorted(set(tf.nn.__all__) - set(NN)) == []


@pytest.mark.parametrize("name", sorted(TOP))
def test_tf_name(name):
    assert TOP[name]()


@pytest.mark.parametrize("table,name", [("math", k) for k in sorted(MATH)] + [("nn", k) for k in sorted(NN)])
def test_tf_math_and_nn(table, name):
    fn, expected = (MATH if table == "math" else NN)[name]
    np.testing.assert_allclose(n(fn()).astype(np.float64), np.asarray(expected, dtype=np.float64), rtol=1e-5,
                               atol=1e-5)


def test_tf_random_names():
    tf.random.set_seed(5)
    a = n(tf.random.normal((3,)))
    tf.random.set_seed(5)
    assert np.array_equal(a, n(tf.random.normal((3,))))
    u = n(tf.random.uniform((500,), 1, 2))
    assert u.min() >= 1 and u.max() < 2
    assert n(tf.random.uniform((50,), 0, 4, dtype=tf.int32)).max() <= 3
    assert np.abs(n(tf.random.truncated_normal((500,)))).max() <= 2
    assert n(tf.random.categorical(np.log([[0.5, 0.5]]), 7)).shape == (1, 7)
    assert sorted(n(tf.random.shuffle(np.arange(5)))) == [0, 1, 2, 3, 4]
    g = tf.random.Generator.from_seed(1)
    assert g.normal((2,)).shape == (2,) and g.uniform((2,)).shape == (2,)
    assert set(tf.random.__all__) == {"normal", "uniform", "truncated_normal", "categorical", "shuffle",
                                      "set_seed", "Generator"}


def test_dataset_pipeline():
    x, y = np.arange(10, dtype="float32").reshape(10, 1), np.arange(10)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    assert len(ds) == 10
    batches = list(ds.map(lambda a, b: (a * 2, b)).batch(4))
    assert [b[0].shape for b in batches] == [(4, 1), (4, 1), (2, 1)]
    np.testing.assert_array_equal(n(batches[0][0])[:, 0], [0, 2, 4, 6])
    assert len(ds.batch(4, drop_remainder=True)) == 2
    order = [int(n(b)) for _, b in ds.shuffle(10, seed=0)]
    assert sorted(order) == list(range(10)) and order != list(range(10))
    assert [int(n(b)) for _, b in ds.take(3)] == [0, 1, 2]
    assert [int(n(b)) for _, b in ds.skip(8)] == [8, 9]
    assert len(list(ds.repeat(2))) == 20
    assert ds.prefetch(tf.data.AUTOTUNE) is ds and ds.cache() is not None
    assert len(list(ds.filter(lambda a, b: b % 2 == 0))) == 5
    assert len(list(ds.batch(3).unbatch())) == 10
    d = tf.data.Dataset.from_tensor_slices({"a": x})
    assert set(next(iter(d))) == {"a"}
    assert list(tf.data.Dataset.range(3).as_numpy_iterator()) == [0, 1, 2]
    assert len(tf.data.Dataset.zip((ds, ds))) == 10 and len(tf.data.Dataset.from_tensors(x)) == 1
    assert len(list(tf.data.Dataset.from_generator(lambda: iter([1, 2])))) == 2
    assert tf.data.experimental.AUTOTUNE == tf.data.AUTOTUNE


def test_dataset_feeds_fit_evaluate_predict():
    from shendu.tf import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x.sum(1) > 0).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(128, seed=0).batch(32).prefetch(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(ds, epochs=15, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert model.evaluate(ds, verbose=0)[1] > 0.8
    assert model.predict(tf.data.Dataset.from_tensor_slices(x).batch(50), verbose=0).shape == (128, 1)


STRINGS = {
    "lower": (lambda: tf.strings.lower(np.array(["Ab", "CD"])), ["ab", "cd"]),
    "upper": (lambda: tf.strings.upper([b"ab", "c"]), ["AB", "C"]),
    "strip": (lambda: tf.strings.strip([" a ", "b\n"]), ["a", "b"]),
    "regex_replace": (lambda: tf.strings.regex_replace(["a<br />b", "<br />"], "<br />", " "), ["a b", " "]),
    "regex_full_match": (lambda: tf.strings.regex_full_match(["ab", "abc"], "a."), [True, False]),
    "length": (lambda: tf.strings.length(["ab", "中"]), [2, 3]),
    "join": (lambda: tf.strings.join([["a", "b"], ["c", "d"]], separator="-"), ["a-c", "b-d"]),
    "split": (lambda: tf.strings.split(["a b", "c"]), [["a", "b"], ["c"]]),
    "substr": (lambda: tf.strings.substr(["hello"], 1, 3), ["ell"]),
    "as_string": (lambda: tf.strings.as_string(np.array([1.5]), precision=2), ["1.50"]),
    "to_number": (lambda: tf.strings.to_number(["1.5", "2"]), [1.5, 2.0]),
}


def test_every_strings_name_has_a_case():
    assert sorted(set(tf.strings.__all__) - set(STRINGS)) == []


@pytest.mark.parametrize("name", sorted(STRINGS))
def test_tf_strings(name):
    fn, want = STRINGS[name]
    got = fn()
    assert (list(got) if not isinstance(got, list) else got) == want


def test_strings_keep_shape_and_feed_a_text_vectorization_standardize():
    batch = np.array([["Great <br /> FILM!"], ["Bad."]], dtype=object)
    out = tf.strings.regex_replace(tf.strings.lower(batch), "[^a-z ]", "")
    assert out.shape == (2, 1) and out[0, 0] == "great br  film"
    layer = tf.keras.layers.TextVectorization(standardize=lambda x: tf.strings.lower(x), output_mode="int")
    layer.adapt(["A b", "b C"])
    assert "b" in layer.get_vocabulary()


def test_function_accepts_every_form_tf_code_writes():
    @tf.function
    def plain(x):
        return x * 2

    @tf.function(jit_compile=True, reduce_retracing=True)
    def compiled(x):
        return x + 1

    @tf.function(input_signature=[tf.TensorSpec(shape=(None, 3), dtype=tf.float32)])
    def signed(x):
        return tf.reduce_sum(x, axis=1)

    class Net:
        scale = 3.0

        @tf.function(input_signature=[tf.TensorSpec((None,), tf.float32)])
        def __call__(self, x):
            return x * self.scale

    assert plain(2) == 4 and compiled(1) == 2 and plain.__name__ == "plain" and plain.python_function(3) == 6
    ints = signed(np.ones((2, 3), dtype=np.int64))
    assert ints.dtype == np.float32 and n(ints).tolist() == [3.0, 3.0]
    np.testing.assert_allclose(n(Net()(np.array([1.0, 2.0]))), [3.0, 6.0])
    with pytest.raises(ValueError, match="not compatible"):
        signed(np.ones((2, 4)))
    with pytest.raises(TypeError, match="2 inputs|1 inputs"):
        signed(A, A)
    with pytest.raises(TypeError):
        tf.function(lambda x: x, no_such_option=True)
    assert tf.function(autograph=False, experimental_relax_shapes=True)(abs)(-2) == 2
