"""Keras-style streaming metrics: accumulate over batches, reset, resolve by name."""
import numpy as np
import pytest

from shendu import metrics as M
from shendu.metrics import streaming as S


def batches(*arrays, size=7):
    n = len(arrays[0])
    for i in range(0, n, size):
        yield tuple(a[i:i + size] for a in arrays)


def test_mean_and_reset():
    m = S.Mean()
    m.update_state([1.0, 2.0, 3.0])
    m.update_state([10.0], sample_weight=[3.0])
    assert m.result() == pytest.approx((1 + 2 + 3 + 30) / 6)
    m.reset_state()
    assert m.result() == 0.0
    assert m([4.0, 6.0]) == 5.0
    assert m.name == "mean"


def test_accuracies_over_batches_equal_whole_dataset():
    rng = np.random.default_rng(0)
    n, k = 50, 4
    labels = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    onehot = np.eye(k)[labels]
    pred = logits.argmax(1)
    expected = np.mean(pred == labels)
    sparse, cat, acc = S.SparseCategoricalAccuracy(), S.CategoricalAccuracy(), S.Accuracy()
    for yl, yo, lo, pr in batches(labels, onehot, logits, pred):
        sparse.update_state(yl, lo)
        cat.update_state(yo, lo)
        acc.update_state(yl, pr)
    for m in (sparse, cat, acc):
        assert m.result() == pytest.approx(expected)
    sparse2 = S.SparseCategoricalAccuracy()
    sparse2.update_state(labels[:, None], logits)          # (n, 1) labels as Keras allows
    assert sparse2.result() == pytest.approx(expected)
    w = rng.random(n)
    weighted = S.SparseCategoricalAccuracy()
    weighted.update_state(labels, logits, sample_weight=w)
    assert weighted.result() == pytest.approx(np.average(pred == labels, weights=w))
    assert weighted.result() == pytest.approx(M.accuracy_score(labels, pred, sample_weight=w))


def test_binary_accuracy_threshold_and_top_k():
    y = np.array([[1], [0], [1], [0]])
    p = np.array([[0.7], [0.4], [0.2], [0.6]])
    assert S.BinaryAccuracy().update_state(y, p) is None
    m = S.BinaryAccuracy()
    assert m(y, p) == 0.5
    assert S.BinaryAccuracy(threshold=0.1)(y, p) == 0.5
    assert S.BinaryAccuracy(threshold=0.65)(y, p) == 0.75
    scores = np.array([[0.1, 0.5, 0.4], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4]])
    labels = np.array([2, 1, 0])
    # label 2 ranks 2nd; label 1 ties for 2nd; label 0 ties for 2nd -> all in top 2, only one in top 1
    assert S.SparseTopKCategoricalAccuracy(k=2)(labels, scores) == 1.0
    assert S.SparseTopKCategoricalAccuracy(k=1)(labels, scores) == 0.0
    assert S.TopKCategoricalAccuracy(k=2)(np.eye(3)[labels], scores) == 1.0
    assert S.TopKCategoricalAccuracy(k=1)(np.eye(3)[[1, 2, 2]], scores) == 1.0


def test_regression_streaming_matches_functions():
    rng = np.random.default_rng(1)
    y, p = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    mse, mae = S.MeanSquaredError(), S.MeanAbsoluteError()
    for yb, pb in batches(y, p):
        mse.update_state(yb, pb)
        mae.update_state(yb, pb)
    assert mse.result() == pytest.approx(M.mean_squared_error(y, p))
    assert mae.result() == pytest.approx(M.mean_absolute_error(y, p))
    one = S.MeanSquaredError()
    one.update_state([1.0, 2.0], [[1.5], [2.0]])             # (n,) vs (n, 1) is aligned
    assert one.result() == pytest.approx(0.125)


def test_precision_recall_match_sklearn_style_functions():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 60)
    s = np.clip(0.3 * y + rng.random(60) * 0.7, 0, 1)
    pr, rc = S.Precision(), S.Recall()
    for yb, sb in batches(y, s):
        pr.update_state(yb, sb)
        rc.update_state(yb, sb)
    yhat = (s > 0.5).astype(int)
    assert pr.result() == pytest.approx(M.precision_score(y, yhat))
    assert rc.result() == pytest.approx(M.recall_score(y, yhat))
    assert S.Precision()([0, 0], [0.1, 0.2]) == 0.0                  # nothing predicted positive
    multi = S.Precision(thresholds=[0.3, 0.5, 0.7])
    multi.update_state(y, s)
    assert multi.result().shape == (3,)
    assert multi.result()[1] == pytest.approx(pr.result())
    # class_id scores one column of one-hot targets
    onehot = np.eye(3)[[0, 1, 2, 1]]
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    assert S.Recall(class_id=1)(onehot, probs) == 0.5
    assert S.Precision(class_id=1)(onehot, probs) == 0.5
    assert S.Precision(top_k=1)(onehot, probs) == 0.5


def test_auc_approximates_exact_auc():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    s = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)
    m = S.AUC()
    for yb, sb in batches(y, s, size=64):
        m.update_state(yb, sb)
    assert m.result() == pytest.approx(M.roc_auc_score(y, s), abs=5e-3)
    pr = S.AUC(curve="PR")
    pr.update_state(y, s)
    assert pr.result() == pytest.approx(M.average_precision_score(y, s), abs=0.03)
    assert len(m.thresholds) == 200 and m.thresholds[0] < 0 and m.thresholds[-1] > 1
    assert S.AUC()([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(1.0)
    for method in ("minoring", "majoring"):
        assert 0.0 <= S.AUC(summation_method=method)(y, s) <= 1.0
    m.reset_state()
    assert m.true_positives.sum() == 0


def test_get_and_resolve_accuracy():
    assert isinstance(M.get("accuracy"), S.Accuracy)
    acc = M.get("acc")
    assert isinstance(acc, S.Accuracy) and acc.name == "acc"
    for name, cls in [("mae", S.MeanAbsoluteError), ("mse", S.MeanSquaredError), ("precision", S.Precision),
                      ("recall", S.Recall), ("auc", S.AUC),
                      ("top_k_categorical_accuracy", S.TopKCategoricalAccuracy),
                      ("sparse_categorical_accuracy", S.SparseCategoricalAccuracy),
                      ("SparseCategoricalAccuracy", S.SparseCategoricalAccuracy)]:
        m = M.get(name)
        assert isinstance(m, cls)
    assert M.get("mae").name == "mae"
    assert M.get("sparse_categorical_accuracy").name == "sparse_categorical_accuracy"
    obj = S.AUC()
    assert M.get(obj) is obj
    assert isinstance(M.get(S.Recall), S.Recall)
    with pytest.raises(ValueError, match="unknown metric"):
        M.get("accurracy")

    def hits(y_true, y_pred):
        return (np.asarray(y_true) == np.asarray(y_pred)).astype(float)

    wrapped = M.get(hits)
    assert wrapped.name == "hits" and wrapped([1, 2], [1, 3]) == 0.5

    assert M.resolve_accuracy("sparse_categorical_crossentropy") is S.SparseCategoricalAccuracy
    assert M.resolve_accuracy("categorical_crossentropy") is S.CategoricalAccuracy
    assert M.resolve_accuracy("binary_crossentropy") is S.BinaryAccuracy
    assert M.resolve_accuracy("mse", (32, 1), (32, 1)) is S.BinaryAccuracy
    assert M.resolve_accuracy("mse", (32,), (32, 10)) is S.SparseCategoricalAccuracy
    assert M.resolve_accuracy("mse", (32, 10), (32, 10)) is S.CategoricalAccuracy
    assert M.resolve_accuracy("mse") is S.CategoricalAccuracy

    class CrossEntropyLoss:
        pass

    class BCEWithLogitsLoss:
        pass

    assert M.resolve_accuracy(CrossEntropyLoss()) is S.SparseCategoricalAccuracy
    assert M.resolve_accuracy(BCEWithLogitsLoss()) is S.LogitsBinaryAccuracy
    assert M.resolve_accuracy("BCELoss") is S.BinaryAccuracy
    assert S.LogitsBinaryAccuracy()([1, 0, 1], [2.0, -1.0, -0.5]) == pytest.approx(2 / 3)
    m = M.get("acc", loss="sparse_categorical_crossentropy")
    assert isinstance(m, S.SparseCategoricalAccuracy) and m.name == "acc"


def test_accepts_array_likes():
    class Boxed:
        def __init__(self, a):
            self.a = np.asarray(a)

        def __array__(self, dtype=None, copy=None):
            return self.a if dtype is None else self.a.astype(dtype)

    m = S.SparseCategoricalAccuracy()
    m.update_state(Boxed([0, 1]), Boxed([[0.9, 0.1], [0.8, 0.2]]))
    assert m.result() == 0.5
    with pytest.raises(ValueError, match="do not match"):
        m.update_state([0, 1, 1], [[0.9, 0.1], [0.8, 0.2]])


@pytest.mark.parametrize("label_dtype", [np.int64, np.int32, np.uint8])
def test_sparse_accuracy_batches_count_as_the_per_sample_function(label_dtype):
    """The usual (N,) labels against (N, C) scores take a short path; its running mean is the mean of
    ``sparse_categorical_accuracy`` over the same batches, ties (the first maximum wins) and NaN
    scores included, and (N, 1) labels or float scores still take the general path."""
    rng = np.random.default_rng(0)
    m, values = S.SparseCategoricalAccuracy(), []
    for n in (7, 1, 32):
        scores = rng.integers(0, 3, (n, 4)).astype(np.float32)        # many ties
        scores[0, 1] = np.nan
        labels = rng.integers(0, 4, n).astype(label_dtype)
        m.update_state(labels, scores)
        values.append(S.sparse_categorical_accuracy(labels, scores))
    assert m.result() == pytest.approx(np.concatenate(values).mean(), abs=0)
    column = S.SparseCategoricalAccuracy()
    column.update_state(np.array([[1], [0]]), np.array([[0.1, 0.9], [0.2, 0.8]], np.float32))
    assert column.result() == 0.5
