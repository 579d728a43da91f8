"""Keras metric objects (update_state / result / reset_state) equal scikit-learn on the same predictions."""
import numpy as np
import pytest

from conftest import require
from shendu import keras
from shendu.keras import metrics as km


@pytest.fixture(scope="module")
def skm():
    return require("sklearn.metrics")


def _binary(seed=0, n=300):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    # scores on the midpoints of a 0.001 grid, all distinct enough that every gap holds a threshold
    s = np.clip((np.round(rng.beta(2, 2, n) * 0.7 + 0.3 * y * rng.random(n), 3) + 0.0005), 0, 0.9995)
    w = rng.random(n) + 0.5
    return y, s, w


def _streamed(metric, y, s, w=None, batches=4):
    metric.reset_state()
    for idx in np.array_split(np.arange(len(y)), batches):
        metric.update_state(y[idx], s[idx], None if w is None else w[idx])
    return metric.result()


@pytest.mark.parametrize("weighted", [False, True])
def test_confusion_counts_at_thresholds(skm, weighted):
    y, s, w = _binary()
    w = w if weighted else None
    thresholds = [0.2, 0.5, 0.75]
    counts = {cls: _streamed(cls(thresholds=thresholds), y, s, w)
              for cls in (km.TruePositives, km.FalsePositives, km.TrueNegatives, km.FalseNegatives)}
    for i, t in enumerate(thresholds):
        tn, fp, fn, tp = skm.confusion_matrix(y, (s > t).astype(int), sample_weight=w).ravel()
        assert counts[km.TruePositives][i] == pytest.approx(tp)
        assert counts[km.FalsePositives][i] == pytest.approx(fp)
        assert counts[km.TrueNegatives][i] == pytest.approx(tn)
        assert counts[km.FalseNegatives][i] == pytest.approx(fn)
    single = km.TruePositives()
    assert isinstance(_streamed(single, y, s, w), float)
    tp = skm.confusion_matrix(y, (s > 0.5).astype(int), sample_weight=w)[1, 1]
    assert single.result() == pytest.approx(tp)
    single.reset_state()
    assert single.result() == 0.0


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.8])
def test_precision_recall_thresholds(skm, threshold):
    y, s, w = _binary(1)
    yhat = (s > threshold).astype(int)
    assert _streamed(km.Precision(thresholds=threshold), y, s, w) == pytest.approx(
        skm.precision_score(y, yhat, sample_weight=w))
    assert _streamed(km.Recall(thresholds=threshold), y, s) == pytest.approx(skm.recall_score(y, yhat))
    both = _streamed(km.Precision(thresholds=[0.3, 0.5, 0.8]), y, s)
    assert both[[0.3, 0.5, 0.8].index(threshold)] == pytest.approx(skm.precision_score(y, yhat))


def test_precision_recall_class_id_and_top_k(skm):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, 200)
    probs = rng.dirichlet(np.ones(4), 200)
    onehot = np.eye(4)[labels]
    pred = probs.argmax(1)
    for c in range(4):
        assert km.Precision(class_id=c, top_k=1)(onehot, probs) == pytest.approx(
            skm.precision_score(labels == c, pred == c))
        assert km.Recall(class_id=c, top_k=1)(onehot, probs) == pytest.approx(
            skm.recall_score(labels == c, pred == c))
    # top_k=1 over every column: micro precision of the argmax prediction
    assert km.Precision(top_k=1)(onehot, probs) == pytest.approx(skm.precision_score(labels, pred, average="micro"))


@pytest.mark.parametrize("weighted", [False, True])
def test_auc_roc_equals_roc_auc_score(skm, weighted):
    y, s, w = _binary(3)
    w = w if weighted else None
    assert _streamed(km.AUC(num_thresholds=1001), y, s, w) == pytest.approx(
        skm.roc_auc_score(y, s, sample_weight=w), abs=1e-9)
    # the default 200 thresholds approximate it
    assert _streamed(km.AUC(), y, s, w) == pytest.approx(skm.roc_auc_score(y, s, sample_weight=w), abs=5e-3)


def _interpolated_pr_auc(skm, y, s):
    """Keras's PR interpolation written from scikit-learn's curve points: between two points the
    precision varies as TP grows linearly with P = TP + FP."""
    precision, recall, _ = skm.precision_recall_curve(y, s)
    npos = y.sum()
    tp = recall * npos
    p = np.divide(tp, precision, out=np.zeros_like(tp), where=precision > 0)
    area = 0.0
    for i in range(len(tp) - 1):             # points go from low to high thresholds: i+1 is the smaller P
        tp0, p0, tp1, p1 = tp[i + 1], p[i + 1], tp[i], p[i]
        if p1 == p0:
            continue
        slope = (tp1 - tp0) / (p1 - p0)
        log = np.log(p1 / p0) if p0 > 0 else 0.0
        area += slope * ((tp1 - tp0) + (tp0 - slope * p0) * log) / npos
    return area


def test_auc_pr_interpolation_and_average_precision(skm):
    y, s, _ = _binary(4)
    pr = _streamed(km.AUC(curve="PR", num_thresholds=1001), y, s)
    assert pr == pytest.approx(_interpolated_pr_auc(skm, y, s), abs=1e-9)
    ap = skm.average_precision_score(y, s)
    assert pr != pytest.approx(ap, abs=1e-6)   # a different summation...
    assert pr == pytest.approx(ap, abs=2e-2)   # ...of nearly the same curve


def test_auc_multi_label_and_from_logits(skm):
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, (250, 3))
    s = np.clip(np.round(rng.random((250, 3)) * 0.6 + 0.35 * y, 3) + 0.0005, 0, 0.9995)
    m = km.AUC(num_thresholds=1001, multi_label=True)
    got = _streamed(m, y, s)
    assert got == pytest.approx(skm.roc_auc_score(y, s, average="macro"), abs=1e-9)
    lw = [1.0, 2.0, 0.5]
    per = np.array([skm.roc_auc_score(y[:, j], s[:, j]) for j in range(3)])
    assert _streamed(km.AUC(num_thresholds=1001, multi_label=True, label_weights=lw), y, s) == pytest.approx(
        np.average(per, weights=lw), abs=1e-9)
    flat = _streamed(km.AUC(num_thresholds=1001), y, s)
    assert flat == pytest.approx(skm.roc_auc_score(y.ravel(), s.ravel()), abs=1e-9)
    logits = np.log(s / (1 - s))
    assert _streamed(km.AUC(num_thresholds=1001, from_logits=True, multi_label=True), y, logits) == \
        pytest.approx(got, abs=1e-9)


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_f1_score_equals_sklearn(skm, average):
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 4, 300)
    probs = rng.dirichlet(np.ones(4), 300)
    onehot = np.eye(4)[labels]
    got = _streamed(km.F1Score(average=average), onehot, probs)
    want = skm.f1_score(labels, probs.argmax(1), average=average)
    np.testing.assert_allclose(got, want, atol=1e-12)
    # multi-label with a threshold
    y = rng.integers(0, 2, (300, 3))
    s = rng.random((300, 3)) * 0.7 + 0.3 * y
    got = _streamed(km.F1Score(average=average, threshold=0.5), y, s)
    np.testing.assert_allclose(got, skm.f1_score(y, (s > 0.5).astype(int), average=average), atol=1e-12)
    fb = _streamed(km.FBetaScore(average=average, beta=2.0, threshold=0.5), y, s)
    np.testing.assert_allclose(fb, skm.fbeta_score(y, (s > 0.5).astype(int), beta=2.0, average=average),
                               atol=1e-12)


def test_mean_iou_equals_jaccard(skm):
    rng = np.random.default_rng(7)
    yt = rng.integers(0, 5, (6, 8, 8))
    yp = np.where(rng.random(yt.shape) < 0.6, yt, rng.integers(0, 5, yt.shape))
    m = km.MeanIoU(num_classes=5)
    got = _streamed(m, yt.reshape(6, -1), yp.reshape(6, -1), batches=3)
    assert got == pytest.approx(skm.jaccard_score(yt.ravel(), yp.ravel(), average="macro"))
    np.testing.assert_allclose(m.total_cm, skm.confusion_matrix(yt.ravel(), yp.ravel()))
    scores = np.eye(5)[yp] + 0.01
    dense = km.MeanIoU(num_classes=5, sparse_y_pred=False)
    assert dense(yt, scores) == pytest.approx(got)
    ign = km.MeanIoU(num_classes=5, ignore_class=0)
    keep = yt.ravel() != 0
    want = skm.jaccard_score(yt.ravel()[keep], yp.ravel()[keep], labels=[0, 1, 2, 3, 4], average=None)
    present = np.isin(np.arange(5), np.r_[yt.ravel()[keep], yp.ravel()[keep]])
    assert ign(yt, yp) == pytest.approx(want[present].mean())
    with pytest.raises(ValueError, match="MeanIoU"):
        km.MeanIoU(num_classes=2)([0, 3], [0, 1])


def test_mean_and_sparse_top_k(skm):
    m = km.Mean()
    m.update_state([1.0, 2.0, 3.0])
    m.update_state([4.0], sample_weight=[2.0])
    assert m.result() == pytest.approx((1 + 2 + 3 + 8) / 5)
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 6, 100)
    probs = rng.random((100, 6))
    got = km.SparseTopKCategoricalAccuracy(k=3)(labels, probs)
    assert got == pytest.approx(skm.top_k_accuracy_score(labels, probs, k=3))


def test_metric_objects_in_compile_and_config_round_trip():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(128, 4)).astype(np.float32)
    y = (x[:, 0] + 0.3 * x[:, 1] > 0).astype(np.float32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    metrics = [km.TruePositives(name="tp"), km.FalseNegatives(name="fn"), km.Precision(name="precision"),
               km.Recall(name="recall"), km.AUC(name="auc"), km.AUC(curve="PR", name="prc")]
    model.compile("adam", "binary_crossentropy", metrics=metrics)
    hist = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    for name in ("tp", "fn", "precision", "recall", "auc", "prc"):
        assert len(hist.history[name]) == 2
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)[:, 0]
    assert logs["tp"] + logs["fn"] == pytest.approx(y.sum())
    assert logs["tp"] == pytest.approx(np.sum((p > 0.5) & (y == 1)))
    for cls in (km.TruePositives, km.Precision, km.AUC, km.F1Score, km.MeanIoU):
        obj = cls(num_classes=3) if cls is km.MeanIoU else cls()
        clone = type(obj)(**obj.get_config())
        assert clone.get_config() == obj.get_config()
    assert isinstance(km.get("TruePositives"), km.TruePositives)
    assert isinstance(km.get("f1_score"), km.F1Score)
