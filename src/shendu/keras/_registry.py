"""The one ``get`` / ``serialize`` / ``deserialize`` of Keras's registries (losses, optimizers,
initializers, regularizers, activations, metrics).

Each module builds one :class:`Registry` and exposes its three methods. An identifier may be

* ``None`` (the registry's empty value: ``linear`` for activations, ``None`` elsewhere);
* a name: a class name (``"MeanSquaredError"``, exact case) or a registered alias (``"mse"``, any case);
  an alias naming a class gives a new instance, one naming a function gives the function;
* a config dict ``{"class_name": ..., "config": {...}}`` (``cls.from_config(config)``), as model files hold;
* an instance (returned as it is), a class (instantiated), or any callable (kept, or wrapped by ``wrap``).

``serialize`` is the inverse: a registered function gives its first alias, an instance of a registered
class gives its config dict. ``deserialize(config, custom_objects)`` looks names up in ``custom_objects``
first, so user classes saved in a model file come back."""

import inspect

__all__ = ["Configurable", "Registry", "maker"]


class Configurable:
    """Keras's config protocol over the declared arguments ``_params`` (name → default): the constructor
    takes them positionally or by name and keeps them as attributes, ``get_config()`` gives them,
    ``from_config(config)`` builds the object again from them."""

    _params = {}

    def __init__(self, *args, **kwargs):
        names = list(self._params)
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} arguments {names}, got {args}")
        if unknown := set(kwargs) - set(names):
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(unknown)}; takes {names}")
        for name, value in {**self._params, **dict(zip(names, args)), **kwargs}.items():
            setattr(self, name, value)

    def get_config(self):
        return {k: getattr(self, k) for k in self._params}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class maker:  # noqa: N801 - used like a decorator-style marker
    """Marks a registered zero-argument factory (``"l1_l2"`` → ``L1L2(0.01, 0.01)``) as one to call."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self):
        return self.fn()


class Registry:
    """Lookup tables for one kind of Keras object (``kind`` names it in errors)."""

    def __init__(self, kind, *, names=None, classes=(), base=None, empty=None, empty_name=None, wrap=None,
                 passthrough=None, any_instance_config=True):
        self.kind, self.base, self.wrap, self.passthrough = kind, base, wrap, passthrough
        self.names = {k.lower(): v for k, v in (names or {}).items()}
        self.classes = {c.__name__: c for c in classes}
        self.empty, self.empty_name = empty, empty_name
        self.any_instance_config = any_instance_config  # serialize any ``base`` instance as a config dict

    # ----- lookups -----------------------------------------------------------------------------------
    def _known(self):
        return ", ".join(sorted(set(self.names) | set(self.classes)))

    @staticmethod
    def _make(entry):
        return entry() if isinstance(entry, (type, maker)) else entry

    def _class(self, class_name, custom_objects=None):
        if custom_objects and class_name in custom_objects:
            return custom_objects[class_name]
        if class_name in self.classes:
            return self.classes[class_name]
        entry = self.names.get(str(class_name).lower())
        return entry if isinstance(entry, type) else None

    def get(self, identifier, custom_objects=None):
        """The object ``identifier`` stands for (see the module docstring)."""
        if identifier is None:
            return self.empty
        if self.base is not None and isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, type) and self.base is not None and issubclass(identifier, self.base):
            return identifier()
        if isinstance(identifier, str):
            key = identifier.strip()
            if custom_objects and key in custom_objects:
                return self._make(custom_objects[key])
            if key in self.classes:
                return self.classes[key]()
            if key.lower() in self.names:
                return self._make(self.names[key.lower()])
            raise ValueError(f"Unknown {self.kind} {identifier!r}; known: {self._known()}")
        if isinstance(identifier, dict):
            name = identifier.get("class_name")
            cls = self._class(name, custom_objects)
            if cls is None:
                raise ValueError(f"Unknown {self.kind} config {identifier!r}: pass the class in "
                                 f"custom_objects={{'{name}': {name}}}; known classes: "
                                 f"{', '.join(sorted(self.classes))}")
            config = identifier.get("config", {})
            if not hasattr(cls, "from_config"):
                return cls(**config)
            if "custom_objects" in inspect.signature(cls.from_config).parameters:
                return cls.from_config(config, custom_objects=custom_objects)
            return cls.from_config(config)
        if self.passthrough is not None and self.passthrough(identifier):
            return identifier
        if callable(identifier):
            return self.wrap(identifier) if self.wrap is not None else identifier
        raise TypeError(f"{self.kind} must be a name, a config dict, a {self.kind} object or a function, "
                        f"got {type(identifier).__name__}")

    def serialize(self, obj):
        """What a model file stores for ``obj``: a name, a config dict, or None."""
        if obj is None:
            return self.empty_name
        if isinstance(obj, str):
            return obj
        for name, entry in self.names.items():
            if entry is obj and not isinstance(entry, type):
                return name
        name = getattr(obj, "__name__", None)
        if (self.classes.get(type(obj).__name__) is type(obj) or (name is None and hasattr(obj, "get_config"))
                or self.any_instance_config and self.base is not None and isinstance(obj, self.base)):
            return {"class_name": type(obj).__name__, "config": obj.get_config()}
        return name

    deserialize = get  # the object a stored name or config dict stands for, ``custom_objects`` first
