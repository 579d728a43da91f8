"""scikit-learn wrappers: both the tf.keras 2 (build_fn=) and the scikeras (model=, routed params) styles."""
import pickle

import numpy as np
import pytest

from conftest import require
from shendu.keras import layers, models
from shendu.keras.wrappers import KerasClassifier, KerasRegressor


def _blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    centers = np.array([[2, 0], [-2, 0], [0, 2.5]])
    x = (centers[y] + rng.normal(scale=0.5, size=(n, 2))).astype("float32")
    return x, np.array(["cat", "dog", "fox"])[y]


def create_model(units=16, optimizer="adam"):
    model = models.Sequential([layers.Dense(units, activation="relu", input_shape=(2,)),
                               layers.Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def get_model(hidden=8, meta=None):
    model = models.Sequential([layers.Dense(hidden, activation="relu", input_shape=(meta["n_features_in_"],)),
                               layers.Dense(meta["n_classes_"], activation="softmax")])
    return model       # compiled by the wrapper


def test_build_fn_style_classifier_with_string_labels_and_one_hot_loss():
    x, y = _blobs()
    clf = KerasClassifier(build_fn=create_model, epochs=30, batch_size=16, verbose=0, units=8, random_state=0)
    clf.fit(x, y)
    assert set(clf.classes_) == {"cat", "dog", "fox"}
    assert clf.predict(x[:5]).dtype.kind == "U"
    proba = clf.predict_proba(x)
    assert proba.shape == (120, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert clf.score(x, y) > 0.9
    assert clf.get_params()["units"] == 8
    assert clf.model_.layers[0].units == 8


def test_scikeras_style_routed_parameters_and_regressor():
    x, y = _blobs()
    clf = KerasClassifier(model=get_model, loss="sparse_categorical_crossentropy", optimizer="adam",
                          optimizer__learning_rate=0.05, model__hidden=12, epochs=15, verbose=0, random_state=1)
    clf.fit(x, y)
    assert clf.model_.optimizer.learning_rate == pytest.approx(0.05)
    assert clf.model_.layers[0].units == 12
    assert clf.score(x, y) > 0.9
    rng = np.random.default_rng(0)
    xr = rng.normal(size=(100, 3)).astype("float32")
    yr = xr @ np.array([1.0, -2.0, 0.5]) + 0.3

    def reg_model():
        return models.Sequential([layers.Dense(1, input_shape=(3,))])

    reg = KerasRegressor(model=reg_model, optimizer="adam", optimizer__learning_rate=0.1, epochs=60, verbose=0,
                         random_state=0)
    reg.fit(xr, yr)
    assert reg.predict(xr).shape == (100,)
    assert reg.score(xr, yr) > 0.95


def _grid_search(n_jobs):
    sklearn = require("sklearn")
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    x, y = _blobs(90)
    clf = KerasClassifier(build_fn=create_model, epochs=10, batch_size=8, verbose=0, random_state=0)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    pickle.loads(pickle.dumps(clf))
    grid = GridSearchCV(clf, {"units": [4, 16], "epochs": [2, 30]}, cv=2, n_jobs=n_jobs)
    grid.fit(x, y)
    assert set(grid.best_params_) == {"units", "epochs"}
    assert grid.best_score_ > 0.8 and grid.best_params_["epochs"] == 30
    fitted = pickle.loads(pickle.dumps(grid.best_estimator_))     # a fitted wrapper carries its model
    np.testing.assert_array_equal(fitted.predict(x), grid.best_estimator_.predict(x))
    assert sklearn.base.is_classifier(clf)


def test_clone_pickle_and_grid_search():
    _grid_search(n_jobs=1)


@pytest.mark.slow
def test_grid_search_with_two_worker_processes():
    _grid_search(n_jobs=2)
