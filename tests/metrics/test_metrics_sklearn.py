"""shendu.metrics gives the same numbers as scikit-learn on random and edge-case inputs."""
import warnings

import numpy as np
import pytest

from conftest import require
from shendu import metrics as M

AVERAGES = [None, "micro", "macro", "weighted"]


@pytest.fixture(scope="module")
def skm():
    return require("sklearn.metrics")


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def same(a, b):
    if a is None or b is None:
        assert a is None and b is None
        return
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-12,
                               atol=1e-12, equal_nan=True)


def label_cases(n_cases=12):
    rng = np.random.default_rng(42)
    for i in range(n_cases):
        n = int(rng.integers(1, 60))
        k = int(rng.integers(2, 6))
        yt = rng.integers(0, k, n)
        yp = np.where(rng.random(n) < 0.6, yt, rng.integers(0, k, n))
        if i % 3 == 0:
            yp[yp == k - 1] = 0                      # a class never predicted
        w = rng.random(n) if i % 2 else None
        yield yt, yp, w


@pytest.mark.parametrize("case", list(label_cases()))
def test_label_metrics_match_sklearn(skm, case):
    yt, yp, w = case
    same(M.accuracy_score(yt, yp, sample_weight=w), skm.accuracy_score(yt, yp, sample_weight=w))
    same(M.accuracy_score(yt, yp, normalize=False, sample_weight=w),
         skm.accuracy_score(yt, yp, normalize=False, sample_weight=w))
    same(M.confusion_matrix(yt, yp, sample_weight=w), quiet(skm.confusion_matrix, yt, yp, sample_weight=w))
    for norm in ("true", "pred", "all"):
        same(quiet(M.confusion_matrix, yt, yp, normalize=norm),
             quiet(skm.confusion_matrix, yt, yp, normalize=norm))
    for avg in AVERAGES:
        for zd in ("warn", 0, 1, np.nan):
            ours = quiet(M.precision_recall_fscore_support, yt, yp, average=avg, sample_weight=w,
                         zero_division=zd)
            ref = quiet(skm.precision_recall_fscore_support, yt, yp, average=avg, sample_weight=w,
                        zero_division=zd)
            for a, b in zip(ours, ref):
                same(a, b)
        for ours, ref in [(M.precision_score, skm.precision_score), (M.recall_score, skm.recall_score),
                          (M.f1_score, skm.f1_score)]:
            same(quiet(ours, yt, yp, average=avg), quiet(ref, yt, yp, average=avg))
        for beta in (0.0, 0.5, 2.0, np.inf):
            same(quiet(M.fbeta_score, yt, yp, beta=beta, average=avg),
                 quiet(skm.fbeta_score, yt, yp, beta=beta, average=avg))


@pytest.mark.parametrize("labels", [[0, 1], [2, 0, 1], [0, 1, 2, 7], [3]])
def test_labels_argument(skm, labels):
    yt = np.array([0, 1, 2, 2, 1, 0, 3, 3])
    yp = np.array([0, 2, 2, 1, 1, 3, 3, 0])
    for avg in AVERAGES:
        ours = quiet(M.precision_recall_fscore_support, yt, yp, labels=labels, average=avg)
        ref = quiet(skm.precision_recall_fscore_support, yt, yp, labels=labels, average=avg)
        for a, b in zip(ours, ref):
            same(a, b)
    same(quiet(M.confusion_matrix, yt, yp, labels=labels), quiet(skm.confusion_matrix, yt, yp, labels=labels))


def test_binary_pos_label_and_strings(skm):
    yt = np.array(["cat", "dog", "dog", "cat", "dog"])
    yp = np.array(["cat", "cat", "dog", "cat", "dog"])
    for pos in ("cat", "dog"):
        same(M.precision_score(yt, yp, pos_label=pos), skm.precision_score(yt, yp, pos_label=pos))
        same(M.recall_score(yt, yp, pos_label=pos), skm.recall_score(yt, yp, pos_label=pos))
        same(M.f1_score(yt, yp, pos_label=pos), skm.f1_score(yt, yp, pos_label=pos))
    with pytest.raises(ValueError, match="pos_label=1 is not a valid label"):
        M.f1_score(yt, yp)
    with pytest.raises(ValueError, match="average='binary'"):
        M.f1_score([0, 1, 2], [0, 1, 2])
    assert M.confusion_matrix(yt, yp).tolist() == skm.confusion_matrix(yt, yp).tolist()
    assert (M.confusion_matrix(yt, yp, labels=["dog", "cat"]).tolist()
            == skm.confusion_matrix(yt, yp, labels=["dog", "cat"]).tolist())


def test_never_predicted_class_warns_and_zero_division(skm):
    yt = [0, 1, 2, 2, 1]
    yp = [0, 1, 1, 1, 1]          # class 2 never predicted
    with pytest.warns(M.UndefinedMetricWarning, match="Precision is ill-defined"):
        p = M.precision_score(yt, yp, average=None)
    same(p, quiet(skm.precision_score, yt, yp, average=None))
    assert p[2] == 0.0
    for zd in (0, 1, np.nan):
        with warnings.catch_warnings():
            warnings.simplefilter("error")      # no warning once zero_division is explicit
            ours = M.precision_score(yt, yp, average="macro", zero_division=zd)
        same(ours, skm.precision_score(yt, yp, average="macro", zero_division=zd))
    # binary: nothing predicted positive
    with pytest.warns(M.UndefinedMetricWarning, match="due to no predicted samples"):
        assert M.precision_score([0, 1, 1], [0, 0, 0]) == 0.0
    assert M.precision_score([0, 1, 1], [0, 0, 0], zero_division=1) == 1.0


def test_single_class_present(skm):
    yt = yp = [1, 1, 1]
    for fn in ("precision_score", "recall_score", "f1_score", "accuracy_score"):
        same(quiet(getattr(M, fn), yt, yp), quiet(getattr(skm, fn), yt, yp))
    same(quiet(M.f1_score, [0, 0], [0, 0]), quiet(skm.f1_score, [0, 0], [0, 0]))
    with pytest.warns(UserWarning, match="single label"):
        cm = M.confusion_matrix(yt, yp)
    assert cm.tolist() == [[3]]
    assert M.confusion_matrix(yt, yp, labels=[0, 1]).tolist() == [[0, 0], [0, 3]]
    with pytest.raises(ValueError, match="At least one label"):
        M.confusion_matrix(yt, yp, labels=[5])
    with pytest.warns(M.UndefinedMetricWarning, match="Only one class"):
        assert np.isnan(M.roc_auc_score([1, 1, 1], [0.2, 0.5, 0.9]))


def test_classification_report_matches_text_and_dict(skm):
    rng = np.random.default_rng(3)
    yt = rng.integers(0, 4, 50)
    yp = np.where(rng.random(50) < 0.5, yt, rng.integers(0, 3, 50))   # class 3 never predicted
    names = ["tshirt", "trouser", "pullover", "a-very-long-class-name"]
    for kwargs in ({}, {"digits": 4}, {"target_names": names}, {"labels": [0, 1]},
                   {"labels": [1, 2, 3], "target_names": names[1:]}, {"sample_weight": rng.random(50)},
                   {"zero_division": 1}):
        assert quiet(M.classification_report, yt, yp, **kwargs) == quiet(
            skm.classification_report, yt, yp, **kwargs)
        ours = quiet(M.classification_report, yt, yp, output_dict=True, **kwargs)
        ref = quiet(skm.classification_report, yt, yp, output_dict=True, **kwargs)
        assert list(ours) == list(ref)
        for key in ref:
            if isinstance(ref[key], dict):
                assert list(ours[key]) == list(ref[key])
                same(list(ours[key].values()), list(ref[key].values()))
            else:
                same(ours[key], ref[key])
    binary = ([0, 1, 1, 0], [0, 1, 0, 0])
    assert M.classification_report(*binary) == skm.classification_report(*binary)


def score_cases():
    rng = np.random.default_rng(7)
    for i in range(10):
        n = int(rng.integers(3, 80))
        yt = rng.integers(0, 2, n)
        yt[:2] = [0, 1]
        if i % 2:
            score = np.round(rng.random(n), 1)      # many ties
        else:
            score = rng.random(n) + 0.4 * yt
        w = rng.random(n) if i % 3 == 0 else None
        if w is not None:
            w[rng.random(n) < 0.2] = 0.0           # zero weights are dropped like scikit-learn
        yield yt, score, w


@pytest.mark.parametrize("case", list(score_cases()))
def test_curves_match_sklearn(skm, case):
    yt, s, w = case
    for drop in (True, False):
        for a, b in zip(M.roc_curve(yt, s, sample_weight=w, drop_intermediate=drop),
                        skm.roc_curve(yt, s, sample_weight=w, drop_intermediate=drop)):
            same(a, b)
        for a, b in zip(M.precision_recall_curve(yt, s, sample_weight=w, drop_intermediate=drop),
                        skm.precision_recall_curve(yt, s, sample_weight=w, drop_intermediate=drop)):
            same(a, b)
    same(M.roc_auc_score(yt, s, sample_weight=w), skm.roc_auc_score(yt, s, sample_weight=w))
    same(M.roc_auc_score(yt, s, max_fpr=0.3), skm.roc_auc_score(yt, s, max_fpr=0.3))
    same(M.average_precision_score(yt, s, sample_weight=w),
         skm.average_precision_score(yt, s, sample_weight=w))
    fpr, tpr, _ = M.roc_curve(yt, s)
    same(M.auc(fpr, tpr), skm.auc(fpr, tpr))
    same(M.auc(fpr[::-1], tpr[::-1]), skm.auc(fpr[::-1], tpr[::-1]))
    # -1/1 labels and an explicit string pos_label
    same(M.roc_auc_score(2 * yt - 1, s), skm.roc_auc_score(2 * yt - 1, s))
    ys = np.where(yt == 1, "spam", "ham")
    for a, b in zip(M.roc_curve(ys, s, pos_label="ham"), skm.roc_curve(ys, s, pos_label="ham")):
        same(a, b)


def test_roc_ties_and_thresholds(skm):
    yt = [0, 0, 1, 1, 0, 1, 1, 0]
    s = [0.1, 0.4, 0.4, 0.4, 0.8, 0.8, 0.9, 0.1]
    fpr, tpr, thr = M.roc_curve(yt, s)
    ref = skm.roc_curve(yt, s)
    for a, b in zip((fpr, tpr, thr), ref):
        same(a, b)
    assert thr[0] == np.inf
    same(M.roc_auc_score(yt, s), skm.roc_auc_score(yt, s))
    with pytest.raises(ValueError, match="pos_label is not specified"):
        M.roc_curve(["a", "b"], [0.1, 0.2])
    with pytest.warns(M.UndefinedMetricWarning, match="No negative samples"):
        fpr, _, _ = M.roc_curve([1, 1], [0.3, 0.6])
    assert np.isnan(fpr).all()


@pytest.mark.parametrize("k", [3, 4])
def test_multiclass_auc_and_ap(skm, k):
    rng = np.random.default_rng(k)
    n = 120
    yt = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[yt]
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    w = rng.random(n)
    for avg in ("macro", "weighted", "micro", None):
        same(M.roc_auc_score(yt, proba, multi_class="ovr", average=avg),
             skm.roc_auc_score(yt, proba, multi_class="ovr", average=avg))
        same(M.roc_auc_score(yt, proba, multi_class="ovr", average=avg, sample_weight=w),
             skm.roc_auc_score(yt, proba, multi_class="ovr", average=avg, sample_weight=w))
        same(M.average_precision_score(yt, proba, average=avg),
             skm.average_precision_score(yt, proba, average=avg))
    for avg in ("macro", "weighted"):
        same(M.roc_auc_score(yt, proba, multi_class="ovo", average=avg),
             skm.roc_auc_score(yt, proba, multi_class="ovo", average=avg))
    onehot = np.eye(k)[yt]
    same(M.roc_auc_score(onehot, proba), skm.roc_auc_score(onehot, proba))
    with pytest.raises(ValueError, match="multi_class"):
        M.roc_auc_score(yt, proba)
    with pytest.raises(ValueError, match="sum up to 1"):
        M.roc_auc_score(yt, logits, multi_class="ovr")
    for kk in (1, 2):
        same(M.top_k_accuracy_score(yt, proba, k=kk), skm.top_k_accuracy_score(yt, proba, k=kk))
        same(M.top_k_accuracy_score(yt, proba, k=kk, sample_weight=w, normalize=False),
             skm.top_k_accuracy_score(yt, proba, k=kk, sample_weight=w, normalize=False))
    labels = list(range(k + 1))
    padded = np.c_[proba, np.zeros(n)]
    same(M.top_k_accuracy_score(yt, padded, k=2, labels=labels),
         skm.top_k_accuracy_score(yt, padded, k=2, labels=labels))


def test_top_k_ties_and_binary(skm):
    yt = [0, 1, 2, 2]
    s = np.array([[0.5, 0.5, 0.0], [0.2, 0.4, 0.4], [0.3, 0.3, 0.4], [1 / 3, 1 / 3, 1 / 3]])
    for k in (1, 2):
        same(M.top_k_accuracy_score(yt, s, k=k), skm.top_k_accuracy_score(yt, s, k=k))
    yb, sb = [0, 1, 1, 0], [0.2, 0.7, 0.4, 0.6]
    same(M.top_k_accuracy_score(yb, sb, k=1), skm.top_k_accuracy_score(yb, sb, k=1))
    logits = [-1, 2, -0.5, 3]
    same(M.top_k_accuracy_score(yb, logits, k=1), skm.top_k_accuracy_score(yb, logits, k=1))


def test_regression_metrics_match_sklearn(skm):
    rng = np.random.default_rng(1)
    for shape in ((30,), (30, 3)):
        yt = rng.normal(size=shape)
        yp = yt + rng.normal(scale=0.5, size=shape)
        w = rng.random(30)
        for mo in ("raw_values", "uniform_average", [0.2, 0.3, 0.5]):
            if isinstance(mo, list) and len(shape) == 1:
                continue
            for name in ("mean_squared_error", "mean_absolute_error", "r2_score"):
                same(getattr(M, name)(yt, yp, multioutput=mo, sample_weight=w),
                     getattr(skm, name)(yt, yp, multioutput=mo, sample_weight=w))
        same(M.r2_score(yt, yp, multioutput="variance_weighted"),
             skm.r2_score(yt, yp, multioutput="variance_weighted"))
    const = np.ones(5)
    for yp in (const, const + np.arange(5)):
        for ff in (True, False):
            same(quiet(M.r2_score, const, yp, force_finite=ff),
                 quiet(skm.r2_score, const, yp, force_finite=ff))
    two = np.c_[const, np.arange(5.0)]
    for mo in ("raw_values", "uniform_average", "variance_weighted"):
        same(M.r2_score(two, two + 0.1, multioutput=mo), skm.r2_score(two, two + 0.1, multioutput=mo))
    with pytest.warns(M.UndefinedMetricWarning):
        assert np.isnan(M.r2_score([1.0], [2.0]))


def test_inputs_lists_tensors_and_errors():
    class Boxed:                     # anything with __array__, as shendu Tensors
        def __init__(self, a):
            self.a = np.asarray(a)

        def __array__(self, dtype=None, copy=None):
            return self.a if dtype is None else self.a.astype(dtype)

    yt, yp = [0, 1, 2, 2], [0, 2, 2, 2]
    assert M.accuracy_score(Boxed(yt), Boxed(yp)) == M.accuracy_score(yt, yp) == 0.75
    assert M.roc_auc_score(Boxed([0, 1, 1]), Boxed([0.1, 0.8, 0.6])) == 1.0
    with pytest.raises(ValueError, match="to_labels"):
        M.accuracy_score(yt, np.eye(3)[yp] * 0.9)
    with pytest.raises(ValueError, match="continuous"):
        M.f1_score([0, 1], [0.2, 0.9])
    with pytest.raises(ValueError, match="same number of samples"):
        M.accuracy_score([0, 1], [0])
    probs = np.array([[0.9, 0.1], [0.3, 0.7]])
    assert M.to_labels(probs).tolist() == [0, 1]
    assert M.to_labels(np.eye(3)[[2, 0]]).tolist() == [2, 0]
    assert M.to_labels([[0.2], [0.8]]).tolist() == [0, 1]
    assert M.to_labels([1, 0, 2]).tolist() == [1, 0, 2]


def test_metrics_do_not_import_sklearn():
    import subprocess
    import sys
    code = ("import sys, shendu.metrics as m; m.f1_score([0, 1], [1, 1]);"
            "m.roc_auc_score([0, 1], [0.1, 0.2]);"
            "print('sklearn' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_many_small_random_cases_match_sklearn(skm):
    """Tiny inputs hit the corner cases: one sample, one class, labels never seen, zero weights."""
    rng = np.random.default_rng(2024)

    def both(name, *args, **kwargs):
        results = []
        for mod in (skm, M):
            try:
                results.append(quiet(getattr(mod, name), *args, **kwargs))
            except ValueError:
                results.append(ValueError)
        if ValueError in results:
            assert results == [ValueError, ValueError], (name, args, kwargs)
            return None
        return results

    for _ in range(30):
        n, k = int(rng.integers(1, 12)), int(rng.integers(1, 4))
        yt, yp = rng.integers(0, k, n), rng.integers(0, k, n)
        w = [None, rng.integers(0, 3, n), rng.random(n)][int(rng.integers(0, 3))]
        labels = None if rng.random() < 0.5 else list(rng.choice(5, int(rng.integers(1, 4)), replace=False))
        pair = both("classification_report", yt, yp, labels=labels, sample_weight=w)
        if pair:
            assert pair[0] == pair[1]
        for avg in (None, "binary", "micro", "macro", "weighted"):
            pair = both("precision_recall_fscore_support", yt, yp, labels=labels, average=avg, sample_weight=w)
            if pair:
                for a, b in zip(*pair):
                    same(a, b)
        s = np.round(rng.random(n), 1)
        for name in ("roc_auc_score", "average_precision_score"):
            pair = both(name, yt, s, sample_weight=w)
            if pair:
                same(*pair)
