"""Keras models: ``Sequential``, the functional ``Model(inputs, outputs)`` and subclassed ``Model``.

Training delegates to :class:`shendu.train.Trainer` (``host=self``, so callbacks see this model);
the model holds no numerics. ``save`` / ``load_model`` use one zip file (see :mod:`._saving`).
"""

import contextlib
import inspect
import json
import threading

import numpy as np

from ..autograd import no_grad
from ..metrics.streaming import Mean
from ..nn import functional as F
from ..nn.module import training_mode
from ..tensor import Tensor
from ..train import adapter
from . import _saving, backend
from . import losses as _losses
from . import optimizers as _optimizers
from ._custom import CompiledLossView, CompileMetrics, KerasTrainer, overrides, tracked_metrics
from ._summary import print_summary
from .layers import deserialize as _deserialize_layer
from .layers import get_registered, serialize
from .layers.base import Input, InputLayer, KerasTensor, Layer, _is_shape, flatten_structure, map_structure

__all__ = ["Model", "Sequential", "load_model", "save_model", "read_metadata", "model_from_config",
           "model_from_json", "clone_model"]


# ----- the loss given to the Trainer -----------------------------------------------------------------
class CompiledLoss:
    """Adapts Keras losses (y_true, y_pred) to the Trainer's (y_pred, y_true) call and ``per_sample``.

    Several outputs take a list or dict of losses and optional ``loss_weights``; their weighted sum
    is the loss.
    """

    def __init__(self, loss, loss_weights=None, output_names=None):
        self.loss_weights = loss_weights
        self.output_names = list(output_names or [])
        many = isinstance(loss, (list, tuple))
        self.fns = [_losses.get(x) for x in loss] if many else (
            loss if isinstance(loss, dict) else _losses.get(loss))
        listed = list(loss.values()) if isinstance(loss, dict) else list(loss) if many else [loss]
        self.name = _losses.canonical_name(listed[0] if listed else loss)

    @staticmethod
    def _per_sample_one(fn, y_pred, y_true):
        if isinstance(fn, _losses.Loss):
            per = fn.call(y_true, y_pred)
        else:  # a loss function sees both arguments at one rank, as in Keras
            if isinstance(y_pred, Tensor) and y_true is not None and not isinstance(y_true, (list, dict)):
                y_true, y_pred = _losses.squeeze_or_expand_to_same_rank(y_true, y_pred)
            per = fn(y_true, y_pred)
        return per if isinstance(per, Tensor) else Tensor(np.asarray(per, dtype=np.float32))

    def _pairs(self, y_pred, y_true):
        """(loss fn, weight, y_pred, y_true) for every output."""
        fns = self.fns
        if not isinstance(y_pred, (tuple, list)):
            if isinstance(fns, (list, dict)):
                fns = _losses.get(fns[0] if isinstance(fns, list) else next(iter(fns.values())))
            return [(fns, 1.0, y_pred, y_true)]
        n = len(y_pred)
        trues = list(y_true.values()) if isinstance(y_true, dict) else list(y_true) if isinstance(
            y_true, (tuple, list)) else [y_true]
        fns = [_losses.get(self.fns.get(name)) for name in self.output_names] if isinstance(self.fns, dict) \
            else self.fns if isinstance(self.fns, list) else [self.fns] * n
        if len(trues) != n:
            # Keras: outputs whose loss is None need no target (``loss=[fn, None]`` with one y)
            with_loss = [i for i, f in enumerate(fns) if f is not None]
            if len(fns) != n or len(trues) != len(with_loss):
                raise ValueError(f"The model has {n} outputs but {len(trues)} targets were given")
            given = iter(trues)
            trues = [next(given) if i in with_loss else None for i in range(n)]
        if len(fns) != n:
            raise ValueError(f"compile() got {len(fns)} losses for a model with {n} outputs")
        w = self.loss_weights
        weights = [1.0] * n if w is None else [float(w.get(name, 1.0)) for name in self.output_names] if (
            isinstance(w, dict)) else [float(v) for v in w]
        return [(f, wt, p, t) for f, wt, p, t in zip(fns, weights, y_pred, trues) if f is not None]

    def _reduce(self, y_pred, y_true, reduction):
        """Σ over outputs of weight · reduce(loss per sample): ``"none"`` per sample, ``"mean"`` a scalar."""
        total = None
        for fn, weight, p, t in self._pairs(y_pred, y_true):
            value = (reduction == "mean" and _fused_sparse_ce(fn, p, t)) or F.sample_weighted_reduce(
                self._per_sample_one(fn, p, t), None, reduction)
            value = value if weight == 1.0 else value * weight
            total = value if total is None else total + value
        return total

    def per_sample(self, y_pred, y_true):
        return self._reduce(y_pred, y_true, "none")

    def __call__(self, y_pred, y_true):
        return self._reduce(y_pred, y_true, "mean")


def _fused_sparse_ce(fn, y_pred, y_true):
    """``SparseCategoricalCrossentropy(from_logits=True)``'s batch mean on logits (N, C) as one fused
    cross-entropy Function (the same values); None where it does not apply (the general path then runs)."""
    if not (isinstance(fn, _losses.SparseCategoricalCrossentropy) and fn.from_logits and fn.axis in (-1, 1)
            and fn.ignore_class is None and isinstance(y_pred, Tensor) and y_pred.ndim == 2):
        return None
    t = np.asarray(getattr(y_true, "array", y_true))
    t = (t[:, 0] if t.ndim == 2 and t.shape[1] == 1 else t).astype(np.int64, copy=False)
    if t.shape != y_pred.shape[:1]:
        return None
    try:                                     # it checks the labels' range once; no label is ignored
        return F.cross_entropy(y_pred, t, ignore_index=None)
    except IndexError:                       # a label out of range: the general path says so in Keras's words
        return None


_BUILD_LOCK = threading.RLock()


def _cast_like_input(value, dtype):
    """Bool and integer data fed to a floating-point ``Input`` become that float dtype, as Keras casts
    model inputs to their ``Input``'s dtype (``fit`` on a bool array works); other data is left alone."""
    data = value.array if isinstance(value, Tensor) else value
    if (dtype is None or dtype == "string" or np.dtype(dtype).kind != "f" or not isinstance(data, np.ndarray)
            or data.dtype.kind not in "biu"):
        return value
    return Tensor(data.astype(dtype)) if isinstance(value, Tensor) else data.astype(dtype)


def _first_rows(x, n=2):
    """The first ``n`` samples of user data (an array, a list/tuple/dict of arrays, or a loader)."""
    if adapter.is_iterable_source(x):
        batch = next(iter(x))
        return _first_rows(batch[0] if isinstance(batch, (tuple, list)) else batch, n)
    return adapter.take(adapter.to_arrays(x), slice(0, n))


# ----- Model --------------------------------------------------------------------------------------
def _specs_so_far(layer):
    """The weights a layer (or model) has made so far: all of a built layer's, else its own from
    ``__init__`` and those of its sublayers (Keras: ``Sequential([Dense(8)]).weights == []`` until built)."""
    if layer.built and not isinstance(layer, Model):
        return layer._all_specs()
    own = [(layer, s) for s in Layer._weight_specs(layer)]
    return own + [spec for child in layer._sublayers() for spec in _specs_so_far(child)]


class Model(Layer):
    """A Keras model: ``Model(inputs, outputs)`` over symbolic tensors from ``Input``, or a subclass
    that creates layers in ``__init__`` and defines ``call(inputs)``.

    ``compile`` / ``fit`` / ``evaluate`` / ``predict`` / ``*_on_batch``, ``summary``, ``save``,
    ``get_weights`` / ``set_weights`` and ``save_weights`` / ``load_weights`` behave as in Keras.
    """

    def _all_specs(self):
        return _specs_so_far(self)

    def __init__(self, *args, **kwargs):
        inputs = kwargs.pop("inputs", kwargs.pop("input", None))
        outputs = kwargs.pop("outputs", kwargs.pop("output", None))
        inputs = args[0] if args else inputs
        outputs = args[1] if len(args) > 1 else outputs
        if inputs is not None and outputs is None:
            raise ValueError("Model(inputs, outputs): outputs is missing")
        if inputs is not None and "name" not in kwargs:
            kwargs["name"] = backend.unique_name("functional")
        super().__init__(**kwargs)
        self.optimizer = self.loss = self.history = self._trainer = self._predictor = None
        self._compile_config = self._trainable_snapshot = self._nodes = None
        self._inputs_struct = self._outputs_struct = None
        self.compiled = self.stop_training = False
        self.metadata = {}  # free-form JSON saved with the model file (``save(path, metadata=...)``)
        self._input_aliases, self._input_tensors, self._output_tensors = {}, [], []
        if inputs is not None:
            self._init_graph(inputs, outputs)

    # ----- functional graph -------------------------------------------------------------------------
    @property
    def _is_graph_network(self):
        return self._nodes is not None

    def _init_graph(self, inputs, outputs):
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._input_tensors = flatten_structure(inputs)
        self._output_tensors = flatten_structure(outputs)
        for t in self._input_tensors + self._output_tensors:
            if not isinstance(t, KerasTensor):
                raise TypeError("Model(inputs, outputs) takes symbolic tensors from Input() and layer calls, "
                                f"got {type(t).__name__}")
        self._input_aliases = {}
        if any(not isinstance(t.node.layer, InputLayer) for t in self._input_tensors):
            self._cut_at_inputs()
        input_ids = {id(t) for t in self._input_tensors} | set(self._input_aliases.values())
        order, state = [], {}

        def visit(node):
            mark = state.get(id(node))
            if mark == "done":
                return
            if mark == "active":
                raise ValueError("Model: the layer graph has a cycle")
            state[id(node)] = "active"
            for t in node.input_tensors:
                if id(t) in input_ids:
                    continue
                if t.node is None or isinstance(t.node.layer, InputLayer):
                    raise ValueError(f"Graph disconnected: cannot obtain value for tensor {t} at layer "
                                     f"'{node.layer.name}'. The following previous layers were accessed "
                                     "without issue: " + str([n.layer.name for n in order]))
                visit(t.node)
            state[id(node)] = "done"
            order.append(node)

        for t in self._output_tensors:
            if id(t) not in input_ids:
                visit(t.node)
        self._nodes = order
        layers = [t.node.layer for t in self._input_tensors]
        for node in order:
            if node.layer not in layers:
                layers.append(node.layer)
        names = [la.name for la in layers]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f'The name "{name}" is used {names.count(name)} times in the model. '
                                 "All layer names should be unique.")
        for layer in layers:
            self.add_module(layer.name, layer)
        self._graph_layers = layers
        self.built = True
        shapes = [t.shape for t in self._input_tensors]
        self._build_input_shape = shapes[0] if len(shapes) == 1 else shapes
        out_shapes = [t.shape for t in self._output_tensors]
        self._output_shape = out_shapes[0] if len(out_shapes) == 1 else out_shapes

    def _cut_at_inputs(self):
        """Keras 3's rule for inputs made by layers (not by ``Input``): each becomes a new ``Input`` of
        the model, and the layers above it stay out. The new input is named by its key when the inputs
        are a dict; the graph below reads it under the original tensor."""
        keys = list(self._inputs_struct) if isinstance(self._inputs_struct, dict) else []
        if len(keys) != len(self._input_tensors):
            keys = [None] * len(self._input_tensors)
        fresh = []
        for key, t in zip(keys, self._input_tensors):
            if not isinstance(t.node.layer, InputLayer):
                new = Input(batch_shape=t.shape, dtype=t.dtype, name=None if key is None else str(key))
                self._input_aliases[id(new)] = id(t)
                t = new
            fresh.append(t)
        self._input_tensors = fresh
        leaves = iter(fresh)  # the structure the inputs were given in, over the new tensors
        self._inputs_struct = map_structure(lambda _: next(leaves), self._inputs_struct)

    def _input_keys(self):
        """The keys of dict data: those of the inputs' dict when the model was made from one, else the
        names of the Input layers."""
        struct = self._inputs_struct
        if isinstance(struct, dict) and len(struct) == len(self._input_tensors):
            return list(struct)
        return [t.node.layer.name for t in self._input_tensors]

    def _run_graph(self, inputs):
        flat = flatten_structure(inputs) if isinstance(inputs, (list, tuple, dict)) else [inputs]
        if isinstance(inputs, dict):
            names = self._input_keys()
            if not all(n in inputs for n in names) and all(n in inputs for n in self.input_names):
                names = self.input_names
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}': missing input(s) {missing}; got keys "
                                 f"{sorted(inputs)}")
            flat = [inputs[n] for n in names]
        if len(flat) != len(self._input_tensors):
            raise ValueError(f"Model '{self.name}' expects {len(self._input_tensors)} input(s), but it "
                             f"received {len(flat)} input tensor(s)")
        values = {}
        for position, (t, v) in enumerate(zip(self._input_tensors, flat)):
            layer = t.node.layer
            v = layer._convert_inputs(_cast_like_input(v, t.dtype))
            expected = t.shape
            # Keras adjusts a rank that differs only by a trailing axis of size 1 ((32,) for (None, 1))
            if len(v.shape) == len(expected) - 1 and expected[-1] == 1:
                v = v[..., None]
            elif len(v.shape) == len(expected) + 1 and v.shape[-1] == 1:
                v = v[..., 0]
            if len(v.shape) != len(expected) or any(e is not None and e != g
                                                    for e, g in zip(expected[1:], v.shape[1:])):
                raise ValueError(f"Input {position} of layer '{layer.name}' is incompatible with the layer: "
                                 f"expected shape={expected}, found shape={tuple(v.shape)}")
            values[id(t)] = v
            if id(t) in self._input_aliases:
                values[self._input_aliases[id(t)]] = v
        for node in self._nodes:
            for t, o in zip(node.output_tensors, flatten_structure(node.run(values))):
                values[id(t)] = o
        return map_structure(lambda t: values[id(t)], self._outputs_struct)

    # ----- calling ----------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        inputs = list(args) if len(args) > 1 else args[0] if args else self._inputs_from_keywords(kwargs)
        return Layer.forward(self, inputs, **kwargs)

    forward.layer_forward_for_one_input = True   # model(tensor) may take Layer's eager call path (base.py)

    def _inputs_from_keywords(self, kwargs):
        """A dict of named arrays (fit's dict data) is the model's input, as in Keras: a functional model
        takes the entries named like its Inputs (even one named ``inputs``), a subclassed one the dict
        itself whenever it holds names its ``call`` does not take."""
        if self._is_graph_network:
            names = dict.fromkeys(self._input_keys() + self.input_names)
            named = {n: kwargs.pop(n) for n in names if n in kwargs}
        else:
            params = inspect.signature(self.call).parameters
            if any(p.kind is p.VAR_KEYWORD for p in params.values()) or all(k in params for k in kwargs):
                named = {}
            else:
                named = {k: kwargs.pop(k) for k in list(kwargs) if k not in ("training", "mask")}
        if named:
            return named
        if "inputs" in kwargs:
            return kwargs.pop("inputs")
        raise TypeError(f"Model '{self.name}' was called without inputs")

    def call(self, inputs, training=None, mask=None):
        if self._is_graph_network:
            return self._run_graph(inputs)
        raise NotImplementedError(f"Model subclass {type(self).__name__} must define call(self, inputs)")

    def build(self, input_shape):
        self.built = True  # a functional model is built by its graph already

    def compute_output_shape(self, input_shape):
        if self._is_graph_network:
            own = [t.shape for t in self._input_tensors]
            given = [input_shape] if _is_shape(input_shape) else list(input_shape)
            if [tuple(s[1:]) for s in given] == [tuple(s[1:]) for s in own]:
                return self._output_shape
        return super().compute_output_shape(input_shape)

    # ----- structure --------------------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._graph_layers) if self._is_graph_network else self._sublayers()

    def get_layer(self, name=None, index=None):
        """The layer called ``name`` (or at position ``index`` of ``model.layers``)."""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[la.name for la in self.layers]}.")

    @property
    def inputs(self):
        return list(self._input_tensors) if self._input_tensors else None

    @property
    def outputs(self):
        return list(self._output_tensors) if self._output_tensors else None

    @property
    def input(self):
        if not self._input_tensors:
            raise AttributeError(f"Model '{self.name}' has no symbolic input yet")
        return self._inputs_struct

    @property
    def output(self):
        if not self._output_tensors:
            raise AttributeError(f"Model '{self.name}' has no symbolic output yet")
        return self._outputs_struct

    @property
    def input_names(self):
        return [t.node.layer.name for t in self._input_tensors]

    @property
    def output_names(self):
        return [t.node.layer.name for t in self._output_tensors]

    # ----- compile and train -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=None, steps_per_execution=None, jit_compile=None, **kwargs):
        """Choose the optimizer (a name such as 'adam' or an optimizer object), the loss (a name such as
        'sparse_categorical_crossentropy', a Loss or a function) and the metrics (e.g. ['accuracy'])."""
        unknown = sorted(set(kwargs) - {"auto_scale_loss", "sample_weight_mode"})
        if unknown:
            raise TypeError(f"compile(): unexpected keyword argument(s) {unknown}")
        self.optimizer = _optimizers.get(optimizer)
        self.loss = loss
        self._compiled_loss = None if loss is None else CompiledLoss(
            loss, loss_weights, self.output_names if self._output_tensors else None)
        if isinstance(metrics, dict):
            metrics = [m for v in metrics.values() for m in (v if isinstance(v, (list, tuple)) else [v])]
        elif not isinstance(metrics, (list, tuple)):
            metrics = [] if metrics is None else [metrics]
        self._plain_metric_specs = list(metrics)          # Keras: ``metrics`` ignore sample/class weights
        self._weighted_metric_specs = list(weighted_metrics or [])
        self._metric_specs = self._plain_metric_specs + self._weighted_metric_specs
        self._compile_config = {"optimizer": optimizer if isinstance(optimizer, str) else None, "loss": loss,
                                "metrics": list(metrics), "loss_weights": loss_weights}
        self._trainer = None
        self._trainable_snapshot = None
        self.compiled = True
        if self.built:
            self._take_snapshot()

    def _take_snapshot(self):
        """Keras fixes the trainable weights when compiling: a later ``trainable`` change needs a new
        compile()."""
        self._trainable_snapshot = [p for p in self.parameters() if p.requires_grad]
        if isinstance(self.optimizer, _optimizers.Optimizer) and self._trainable_snapshot:
            self.optimizer.build(self._trainable_snapshot)

    def _ensure_built(self, x):
        if x is None or (self.built and self.__dict__.get("_ready_for_calls")):
            return
        with _BUILD_LOCK:  # two threads predicting on an unbuilt model build it once
            if self.built:
                self.__dict__["_ready_for_calls"] = True
                return
            with training_mode(False), no_grad():
                sample = _first_rows(x)
                try:
                    self(*sample) if isinstance(sample, tuple) else self(**sample) if isinstance(
                        sample, dict) else self(sample)
                except NotImplementedError:
                    if not any(overrides(self, s) for s in ("train_step", "test_step", "predict_step")):
                        raise
                    self.built = True  # a model with its own steps need not define call()
            self.__dict__["_ready_for_calls"] = True

    def _get_trainer(self):
        if self._trainer is None:
            self._trainer = KerasTrainer(self, self._compiled_loss, self.optimizer, host=self,
                                          metrics=self._plain_metric_specs,
                                          weighted_metrics=self._weighted_metric_specs)
        return self._trainer

    @contextlib.contextmanager
    def _training_weights(self):
        """Train exactly the weights that were trainable at compile time (Keras's rule)."""
        if self._trainable_snapshot is None:
            self._take_snapshot()
        chosen = {id(p) for p in self._trainable_snapshot}
        params = list(self.parameters())
        before = [p.requires_grad for p in params]
        for p in params:
            p.requires_grad = id(p) in chosen
        try:
            yield
        finally:
            for p, flag in zip(params, before):
                p.requires_grad = flag

    def _run(self, method, local, what=None, drop=()):
        """The one path of fit / evaluate / predict and the ``*_on_batch`` calls: build the model on
        ``x``, then run the Trainer's ``method`` with the caller's arguments (its ``locals()`` but ``self``
        and ``drop``, ``**kwargs`` merged in). ``what`` ("training", "evaluation") needs compile() first,
        and training trains the weights chosen at compile time; predictions (``what=None``) run without a
        loss as well, and several outputs come back as a list."""
        args = {k: v for k, v in local.items() if k not in ("self", "kwargs", *drop)}
        args.update({} if "kwargs" in drop else local.get("kwargs", {}))
        if what is not None and not self.compiled:
            raise RuntimeError(f"You must call compile() before using the model for {what}: "
                               "model.compile(optimizer='adam', loss='...', metrics=['accuracy'])")
        self._ensure_built(args["x"])
        if what is not None or (self.compiled and self._compiled_loss is not None):
            trainer = self._get_trainer()
        else:
            if self._predictor is None:
                self._predictor = KerasTrainer(self, None, None, host=self)
            trainer = self._predictor
        with self._training_weights() if what == "training" else contextlib.nullcontext():
            out = getattr(trainer, method)(**args)
        return list(out) if what is None and isinstance(out, tuple) else out

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1, max_queue_size=None, workers=None, use_multiprocessing=None, **kwargs):
        """Train for ``epochs`` epochs; returns the ``History`` (also kept as ``model.history``).
        ``max_queue_size``, ``workers`` and ``use_multiprocessing`` are accepted and change nothing."""
        self.history = self._run("fit", locals(), "training",
                                 ("max_queue_size", "workers", "use_multiprocessing"))
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """``[loss, *metrics]`` on the data (the loss alone without metrics; a dict with return_dict)."""
        return self._run("evaluate", locals(), "evaluation", ("kwargs",))

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, **kwargs):
        """Outputs for ``x`` as NumPy (a list of arrays for several outputs), batch by batch."""
        return self._run("predict", locals(), drop=("kwargs",))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        """One gradient step on one batch; returns the loss (and metrics)."""
        return self._run("train_on_batch", locals(), "training")

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        return self._run("test_on_batch", locals(), "evaluation")

    def predict_on_batch(self, x):
        return self._run("predict_on_batch", locals())

    @property
    def metrics_names(self):
        return self._get_trainer().metrics_names if self.compiled else []

    # ----- custom training steps (see ._custom) --------------------------------------------------------
    def train_step(self, data):
        """One training step on ``data`` (``x``, ``(x, y)`` or ``(x, y, sample_weight)``); returns the logs.
        Override it to train your own way: ``fit`` then calls yours."""
        return self._get_trainer().default_step("train_step", data)

    def test_step(self, data):
        """One evaluation step; override it and ``evaluate`` (and fit's validation) call yours."""
        return self._get_trainer().default_step("test_step", data)

    def predict_step(self, data):
        """The outputs for one batch; override it and ``predict`` calls yours."""
        x = data[0] if isinstance(data, tuple) and len(data) in (1, 2, 3) else data
        return self(x, training=False)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss of ``(y, y_pred)`` plus the model's penalties and ``add_loss`` terms."""
        if self._compiled_loss is None:
            return sum(self.losses, Tensor(np.zeros((), dtype=np.float32)))
        return self._get_trainer().compute_loss(y_pred, y, sample_weight)

    @property
    def compiled_loss(self):
        """tf.keras 2's ``self.compiled_loss(y, y_pred, regularization_losses=self.losses)``."""
        return CompiledLossView(self)

    @property
    def compiled_metrics(self):
        """tf.keras 2's ``self.compiled_metrics.update_state(y, y_pred)`` (Keras 3's compile_metrics)."""
        if self.__dict__.get("_compile_metrics") is None:
            self.__dict__["_compile_metrics"] = CompileMetrics(self)
        return self.__dict__["_compile_metrics"]

    def _loss_tracker(self):
        return self.__dict__.setdefault("_loss_mean", Mean(name="loss"))

    @property
    def metrics(self):
        """The ``loss`` tracker and compiled metrics (after compile) and the Metric objects held as
        attributes (``self.loss_tracker = keras.metrics.Mean(name="loss")``); fit resets them every epoch."""
        out = [self._loss_tracker()] if self.compiled and self._compiled_loss is not None else []
        out += [self.compiled_metrics] if self.compiled and self._metric_specs else []
        return out + [m for m in tracked_metrics(self) if m not in out]

    def reset_metrics(self):
        if self._trainer is not None:
            self._trainer.reset_metrics()
        for m in self.metrics:
            m.reset_state()

    def reset_states(self):
        """Kept for Keras code; recurrent layers here carry no state between calls."""

    # ----- summary, config, saving --------------------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None, detail=False, batch_size=32, runs=3):
        """Print Keras's table of layers, output shapes and parameter counts. ``detail=True`` adds each
        layer's forward FLOPs per sample, activation memory and measured forward/backward time per batch
        of ``batch_size``."""
        return print_summary(self, print_fn=print_fn, detail=detail, batch_size=batch_size, runs=runs,
                             show_trainable=show_trainable)

    def get_config(self):
        if not self._is_graph_network:
            raise NotImplementedError(f"Model subclass {type(self).__name__} has no get_config(); to save "
                                      "it, define get_config()/from_config(), or use save_weights()")
        return _saving.functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return _saving.functional_from_config(cls, config, custom_objects)

    def to_json(self, **kwargs):
        return json.dumps({"class_name": self._class_name(), "config": self.get_config()}, **kwargs)

    def _class_name(self):
        return "Functional" if type(self) is Model and self._is_graph_network else type(self).__name__

    def save(self, filepath, overwrite=True, include_optimizer=True, metadata=None, **kwargs):
        """Save architecture, weights, compile settings and optimizer state to ONE zip file, atomically.

        ``metadata``: a dict of JSON values stored with the model (``load_model(path).metadata``)."""
        _saving.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer,
                           metadata=metadata)

    def export(self, filepath, format="onnx", verbose=True, input_signature=None, **kwargs):  # noqa: A002
        """Export for inference; ``format="onnx"`` writes an ONNX file (see ``shendu.onnx.export``).

        ``input_signature``: example inputs (arrays) or input shapes (``None`` for the batch axis); by
        default the model's own input shapes. Other keywords (``opset``, ``verify``) go to the exporter."""
        from ..onnx._export import export_keras

        return export_keras(self, filepath, format=format, verbose=verbose, input_signature=input_signature,
                            **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """Save the weights (Keras layouts, by layer name) to a safetensors file, atomically."""
        _saving.save_weights(self, filepath)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False, **kwargs):
        """Load weights saved by ``save_weights`` (or from a whole-model file written by ``save``)."""
        _saving.load_weights(self, filepath)

    def __repr__(self):
        return f"<{self._class_name()} name={self.name}, built={self.built}>"


# ----- Sequential ---------------------------------------------------------------------------------
class Sequential(Model):
    """A plain stack of layers: ``Sequential([Dense(64, activation='relu', input_shape=(20,)), Dense(10)])``
    or ``model.add(layer)``. With an input shape (``input_shape=`` on the first layer, or ``Input(...)``)
    it is built at once; otherwise on its first batch."""

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._stack, self._input_layer, self._last = [], None, None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Append a layer (or an ``Input(...)``/``InputLayer`` giving the input shape)."""
        if isinstance(layer, KerasTensor):
            if not isinstance(layer.node.layer, InputLayer):
                raise ValueError("Sequential.add: a symbolic tensor can only be an Input(...)")
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError("Sequential: an Input/InputLayer can only come first")
            self._input_layer = layer
            self._start_graph(layer._input_tensor)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"The added layer must be an instance of class Layer. Received: layer={layer!r} "
                            f"of type {type(layer).__name__}")
        if any(la.name == layer.name for la in self._stack):
            raise ValueError(f"All layers added to a Sequential model should have unique names. Name "
                             f"'{layer.name}' is already the name of a layer in this model.")
        self._stack.append(layer)
        self.add_module(layer.name, layer)
        if self._last is None and len(self._stack) == 1 and layer._batch_input_shape is not None:
            self._start_graph(self._first_input(layer._batch_input_shape))
        elif self._last is not None:
            self._set_output(layer(self._last))

    def _first_input(self, batch_shape):
        """The ``Input`` in front of the first layer (int64 when that layer takes ids, as Embedding)."""
        ids = bool(self._stack) and self._stack[0]._input_dtype() == "int64"
        return Input(batch_shape=batch_shape, dtype="int64" if ids else None)

    def _set_output(self, x):
        self._last = self._outputs_struct = x
        self._output_tensors, self._output_shape = [x], x.shape

    def _start_graph(self, input_tensor):
        self._input_tensors, self._inputs_struct = [input_tensor], input_tensor
        x = input_tensor
        for la in self._stack:
            x = la(x)
        self._set_output(x)
        self._build_input_shape = input_tensor.shape
        self.built = True
        self._apply_trainable()

    def pop(self):
        """Remove the last layer."""
        if not self._stack:
            raise IndexError("There are no layers in the model.")
        layer = self._stack.pop()
        self._forget(layer.name)
        inp = self._input_tensors[0] if self._input_tensors else None
        self._last, self._output_tensors = None, []
        if inp is not None:
            self._start_graph(inp)
        else:
            self.built = False
        return layer

    @property
    def layers(self):
        return list(self._stack)

    def build(self, input_shape=None):
        if input_shape is None:
            raise ValueError("Sequential.build needs an input shape, e.g. model.build((None, 64))")
        if self._last is None:
            self._start_graph(self._first_input((None,) + tuple(input_shape)[1:]))
        self.built = True

    def call(self, inputs, training=None, mask=None):
        if not self._stack:
            raise ValueError("Sequential model has no layers: add some with model.add(layer)")
        target = self._input_tensors[0].dtype if self._input_tensors else self._stack[0]._input_dtype()
        x = _cast_like_input(inputs, target)
        for layer in self._stack:
            x = layer(x)
        return x

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    @property
    def output_names(self):
        return [self._stack[-1].name] if self._stack else []

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable,
                  "layers": [serialize(la) for la in self._stack]}
        for t in self._input_tensors[:1]:
            config.update(build_input_shape=list(t.shape), input_dtype=t.dtype)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"))
        shape = config.get("build_input_shape")
        dtype = None if config.get("input_dtype") in (None, "float32") else config["input_dtype"]
        for i, spec in enumerate(config.get("layers", [])):
            layer = _deserialize_layer(spec, custom_objects)
            if i == 0 and shape is not None and layer._batch_input_shape is None and not isinstance(
                    layer, InputLayer):
                model.add(Input(batch_shape=tuple(shape), dtype=dtype))
            model.add(layer)
        if shape is not None and not model.built:
            model.build(tuple(shape))
        if "trainable" in config:
            model.trainable = config["trainable"]
        return model


# ----- module-level functions -----------------------------------------------------------------------
def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    """Load a model written by ``model.save(path)``: architecture, weights, compile settings and optimizer."""
    return _saving.load_model(filepath, custom_objects=custom_objects, compile=compile)


def save_model(model, filepath, overwrite=True, include_optimizer=True, metadata=None, **kwargs):
    model.save(filepath, overwrite=overwrite, include_optimizer=include_optimizer, metadata=metadata)


def read_metadata(filepath):
    """The metadata dict saved with ``model.save(path, metadata={...})`` ({} when none), without building
    the model."""
    return _saving.read_metadata(filepath)


def model_from_config(config, custom_objects=None):
    """A model (or layer) from ``{"class_name": ..., "config": ...}`` (the layer registry builds it)."""
    name = config.get("class_name")
    known = {"Sequential": Sequential, "Functional": Model, "Model": Model}
    cls = known.get(name) or get_registered(custom_objects).get(name)
    if cls is None or not issubclass(cls, Layer):
        raise ValueError(f"Unknown model class '{name}': pass it in custom_objects={{'{name}': {name}}}")
    return _deserialize_layer(config, custom_objects)


def model_from_json(json_string, custom_objects=None):
    return model_from_config(json.loads(json_string), custom_objects)


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and freshly initialised weights."""
    return model_from_config({"class_name": model._class_name(), "config": model.get_config()})
