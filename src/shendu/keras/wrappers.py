"""scikit-learn estimators around Keras models: ``KerasClassifier`` and ``KerasRegressor``.

Two styles, as the tutorials write them:

* tf.keras 2's wrapper: ``KerasClassifier(build_fn=create_model, epochs=10, batch_size=16, units=32)``.
  Extra parameters go to ``build_fn`` when its signature names them, and to ``fit`` / ``predict``
  when theirs do.
* scikeras's: ``KerasClassifier(model=get_model, loss="sparse_categorical_crossentropy",
  optimizer="adam", optimizer__learning_rate=0.01, model__units=32, fit__validation_split=0.1)``.
  ``model__x`` goes to the model function (so does a plain parameter its signature names),
  ``optimizer__x`` / ``loss__x`` build those objects, ``fit__x`` / ``predict__x`` reach those calls.
  A model returned uncompiled is compiled with ``optimizer``, ``loss`` and ``metrics``.

The estimator stores only its constructor arguments and builds the model inside ``fit``, so
``sklearn.base.clone``, pickling and ``GridSearchCV(n_jobs=2)`` work; a fitted estimator pickles its
model as the bytes of a model file (no pickled layers).
"""

import inspect

import numpy as np

from ..metrics import accuracy_score, r2_score
from . import losses as _losses
from . import optimizers as _optimizers
from ._saving import model_from_bytes, model_to_bytes
from .layers import Layer
from .models import Model, clone_model
from .utils import set_random_seed, to_categorical

try:  # scikit-learn is optional; the wrappers follow its estimator protocol either way
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import ClassifierMixin as _ClassifierMixin
    from sklearn.base import RegressorMixin as _RegressorMixin
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    _Base = object

    class _ClassifierMixin:
        _estimator_type = "classifier"

    class _RegressorMixin:
        _estimator_type = "regressor"


__all__ = ["KerasClassifier", "KerasRegressor"]

_OWN = ("model", "build_fn", "optimizer", "loss", "metrics", "batch_size", "epochs", "verbose", "callbacks",
        "validation_split", "shuffle", "random_state", "warm_start")
_ROUTES = ("model__", "optimizer__", "loss__", "fit__", "predict__", "compile__", "callbacks__")
_PASSED = {"model": ("optimizer", "loss", "metrics"),  # the estimator's own settings each call receives
           "fit": ("batch_size", "epochs", "verbose", "callbacks", "validation_split", "shuffle"),
           "predict": ("batch_size", "verbose")}


def _names(fn):
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


class BaseWrapper(_Base):
    """Shared fit / predict / parameters of the two wrappers."""

    _default_loss = None

    def __init__(self, model=None, build_fn=None, *, optimizer="rmsprop", loss=None, metrics=None,
                 batch_size=None, epochs=1, verbose=0, callbacks=None, validation_split=0.0, shuffle=True,
                 random_state=None, warm_start=False, **sk_params):
        own = locals()
        for key in _OWN:  # scikit-learn's rule: the constructor stores its arguments as they are
            setattr(self, key, own[key])
        self._sk_params = list(sk_params)
        for key, value in sk_params.items():
            setattr(self, key, value)

    # ----- scikit-learn parameter protocol ------------------------------------------------------------
    def get_params(self, deep=True):
        return {k: getattr(self, k) for k in (*_OWN, *self._sk_params)}

    def set_params(self, **params):
        for key, value in params.items():
            if key not in _OWN and key not in self._sk_params:
                self._sk_params.append(key)
            setattr(self, key, value)
        return self

    def __sklearn_clone__(self):
        return type(self)(**self.get_params())

    # ----- building -----------------------------------------------------------------------------------
    def _routed(self, prefix):
        return {k[len(prefix) :]: getattr(self, k) for k in self._sk_params if k.startswith(prefix)}

    def _route(self, target, fn):
        """The one routing rule, for ``target`` "model", "fit" or "predict" (``fn`` is that call): the
        estimator's own settings that call receives (the model function those its signature names, with
        ``model=``), the plain extra parameters ``fn``'s signature names (for the model function always, for
        fit / predict in the tf.keras 2 style, with ``build_fn``), then the ``target__x`` ones."""
        names = _names(fn) if target == "model" or self.build_fn is not None else ()
        plain = {k: getattr(self, k) for k in self._sk_params if k in names and not k.startswith(_ROUTES)}
        own = {k: getattr(self, k) for k in _PASSED[target]
               if target != "model" or (k in names and self.build_fn is None)}
        return {**own, **plain, **self._routed(target + "__")}

    def _model_fn(self):
        fn = self.build_fn if self.build_fn is not None else self.model
        if fn is None:
            raise ValueError(f"{type(self).__name__} needs build_fn= (a function returning a compiled model) "
                             "or model= (a function or a Model)")
        return fn

    def _meta(self, X, y):
        return {"n_features_in_": self.n_features_in_, "X_shape_": np.shape(X), "y_shape_": np.shape(y),
                "n_classes_": getattr(self, "n_classes_", None), "classes_": getattr(self, "classes_", None),
                "n_outputs_expected_": getattr(self, "n_outputs_expected_", 1)}

    def _build(self, X, y):
        if self.random_state is not None:
            set_random_seed(int(self.random_state))
        fn = self._model_fn()
        if isinstance(fn, Model):
            model = clone_model(fn)
        else:
            names, kwargs = _names(fn), self._route("model", fn)
            if "meta" in names:
                kwargs["meta"] = self._meta(X, y)
            if "compile_kwargs" in names:
                kwargs["compile_kwargs"] = self._compile_kwargs()
            model = fn(**kwargs)
        if not isinstance(model, Layer):
            raise TypeError(f"{type(self).__name__}: the model function returned {type(model).__name__}, "
                            "expected a Keras Model")
        if not getattr(model, "compiled", False):
            model.compile(**self._compile_kwargs(model))
        return model

    def _compile_kwargs(self, model=None):
        opt = self.optimizer
        opt_kwargs = self._routed("optimizer__")
        if isinstance(opt, str):
            opt = _optimizers.get(opt)
            for k, v in opt_kwargs.items():
                setattr(opt, k, v)
        elif isinstance(opt, type):
            opt = opt(**opt_kwargs)
        loss = self.loss if self.loss is not None else self._infer_loss(model)
        loss_kwargs = self._routed("loss__")
        if isinstance(loss, str) and loss_kwargs:  # "binary_crossentropy" + loss__x: the Loss class
            loss = _losses.loss_class(loss) or loss
        if isinstance(loss, type):
            loss = loss(**loss_kwargs)
        return {"optimizer": opt, "loss": loss, "metrics": self.metrics, **self._routed("compile__")}

    def _infer_loss(self, model):
        return self._default_loss

    # ----- fit / predict --------------------------------------------------------------------------------
    def _check_X(self, X):
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            raise ValueError(f"{type(self).__name__}: X must be numeric, got dtype {X.dtype}")
        return X

    def fit(self, X, y, sample_weight=None, **kwargs):
        """Build (unless ``warm_start`` and already fitted) and train the model; returns self."""
        X = self._check_X(X)
        self.n_features_in_ = X.shape[1] if X.ndim > 1 else 1
        y_enc = self._encode_y(np.asarray(y), fitting=True)
        if not (self.warm_start and hasattr(self, "model_")):
            self.model_ = self._build(X, y_enc)
        self.history_ = self._train(X, y_enc, sample_weight, kwargs).history
        return self

    def partial_fit(self, X, y, sample_weight=None):
        """One more epoch on (X, y), keeping the current weights."""
        if not hasattr(self, "model_"):
            return self.fit(X, y, sample_weight=sample_weight, epochs=1)
        X = self._check_X(X)
        self._train(X, self._encode_y(np.asarray(y), fitting=False), sample_weight, {"epochs": 1})
        return self

    def _train(self, X, y_enc, sample_weight, kwargs):
        fit_kwargs = {**self._route("fit", self.model_.fit), **kwargs}
        if sample_weight is not None:
            fit_kwargs["sample_weight"] = np.asarray(sample_weight)
        return self.model_.fit(X, self._adapt_targets(y_enc), **fit_kwargs)

    def _require_fitted(self):
        if not hasattr(self, "model_"):
            try:
                from sklearn.exceptions import NotFittedError
            except ImportError:  # pragma: no cover
                NotFittedError = AttributeError  # noqa: N806
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' first.")

    def _raw_predict(self, X):
        self._require_fitted()
        X = self._check_X(X)
        return np.asarray(self.model_.predict(X, **self._route("predict", self.model_.predict)))

    def _adapt_targets(self, y):
        return y

    # ----- pickling: the fitted model travels as a model file's bytes -----------------------------
    def __getstate__(self):
        state = dict(self.__dict__)
        model = state.pop("model_", None)
        if model is not None:
            state["_model_bytes"] = model_to_bytes(model)
        return state

    def __setstate__(self, state):
        blob = state.pop("_model_bytes", None)
        self.__dict__.update(state)
        if blob is not None:
            self.model_ = model_from_bytes(blob)


class KerasClassifier(_ClassifierMixin, BaseWrapper):
    """A scikit-learn classifier: labels of any type are encoded to 0..n-1 for the model and decoded back;
    ``predict_proba`` gives one column per class; ``score`` is the accuracy."""

    _estimator_type = "classifier"

    def _encode_y(self, y, fitting):
        if y.ndim == 2 and y.shape[1] > 1:  # one-hot targets
            if fitting:
                self.classes_, self.n_classes_, self._target_one_hot = np.arange(y.shape[1]), y.shape[1], True
            return y
        y = y.reshape(-1)
        if fitting:
            self.classes_, idx = np.unique(y, return_inverse=True)
            self.n_classes_, self._target_one_hot = len(self.classes_), False
            return idx
        lookup = {c: i for i, c in enumerate(self.classes_)}
        return np.array([lookup[v] for v in y])

    def _adapt_targets(self, y):
        name = _losses.canonical_name(getattr(self.model_, "loss", None))
        if name == "categorical_crossentropy" and y.ndim == 1:
            return to_categorical(y, self.n_classes_).astype("float32")
        if name == "binary_crossentropy" and y.ndim == 1:
            return y.astype("float32")
        return y

    def _infer_loss(self, model):
        shape = getattr(model, "output_shape", None)
        if isinstance(shape, tuple) and shape[-1] == 1:
            return "binary_crossentropy"
        return "categorical_crossentropy" if getattr(self, "_target_one_hot", False) else \
            "sparse_categorical_crossentropy"

    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes)."""
        p = self._raw_predict(X)
        if p.ndim == 1 or p.shape[-1] == 1:
            return np.hstack([1 - p.reshape(-1, 1), p.reshape(-1, 1)])
        return p

    def predict(self, X):
        """Predicted class labels (as given to fit)."""
        return self.classes_[self.predict_proba(X).argmax(axis=-1)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            y = self.classes_[y.argmax(axis=1)]
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)


class KerasRegressor(_RegressorMixin, BaseWrapper):
    """A scikit-learn regressor (default loss 'mse'); ``score`` is R²."""

    _estimator_type = "regressor"
    _default_loss = "mse"

    def _encode_y(self, y, fitting):
        if fitting:
            self._y_ndim = y.ndim
        return y.astype("float32") if y.dtype.kind in "biuf" else y

    def predict(self, X):
        """Predictions, squeezed to (n_samples,) for a single output as scikit-learn expects."""
        p = self._raw_predict(X)
        if p.ndim == 2 and p.shape[1] == 1 and getattr(self, "_y_ndim", 1) == 1:
            p = p[:, 0]
        return p

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R²."""
        return r2_score(np.asarray(y), self.predict(X), sample_weight=sample_weight)
