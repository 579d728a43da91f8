"""Environments and spaces: gymnasium is imported only here, and only when an agent needs it.

Gymnasium 1.x step API: ``obs, reward, terminated, truncated, info = env.step(action)``.
``terminated`` means the episode reached a terminal state (the value of what follows is 0);
``truncated`` means it was cut short (a time limit), so the value of the last state is bootstrapped.
"""
import numpy as np

__all__ = ["gymnasium", "make_env", "make_vec_env", "SpaceSpec", "is_vector_env"]


def gymnasium():
    """The ``gymnasium`` module, or an ImportError saying how to install it."""
    try:
        import gymnasium as gym
    except ImportError:
        raise ImportError("shendu.rl needs gymnasium for its environments: "
                          "pip install 'shendu[rl]'") from None
    return gym


def is_vector_env(env):
    gym = gymnasium()
    return isinstance(env, gym.vector.VectorEnv)


def make_env(env, **kwargs):
    """``env`` itself, or ``gymnasium.make(env, **kwargs)`` for an id string such as ``"CartPole-v1"``."""
    if isinstance(env, str):
        return gymnasium().make(env, **kwargs)
    if env is None or not hasattr(env, "step") or not hasattr(env, "reset"):
        raise TypeError(f"shendu.rl: expected a gymnasium environment or an id string such as 'CartPole-v1', "
                        f"got {type(env).__name__}")
    return env


def _same_step_mode(gym):
    mode = getattr(gym.vector, "AutoresetMode", None)
    return None if mode is None else mode.SAME_STEP


def make_vec_env(env, n_envs=1):
    """A ``gymnasium.vector.SyncVectorEnv`` that resets each sub-environment in the step that ends it.

    ``env`` is an id string (``n_envs`` copies are made), a single environment (wrapped, n_envs must be 1)
    or a vector environment already (returned as it is; it must reset in the same step: gymnasium >= 1.1
    ``autoreset_mode=AutoresetMode.SAME_STEP``, so that ``info["final_obs"]`` holds the last observation).
    """
    gym = gymnasium()
    mode = _same_step_mode(gym)
    kwargs = {} if mode is None else {"autoreset_mode": mode}
    if isinstance(env, gym.vector.VectorEnv):
        given = env.metadata.get("autoreset_mode")
        if mode is not None and given is not None and given != mode:
            raise ValueError(f"shendu.rl: the vector environment resets with {given}; build it with "
                             "autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP so that the last "
                             "observation of each episode (info['final_obs']) is kept for bootstrapping")
        return env
    if isinstance(env, str):
        return gym.vector.SyncVectorEnv([lambda: gym.make(env) for _ in range(n_envs)], **kwargs)
    env = make_env(env)
    if n_envs != 1:
        raise ValueError(f"shendu.rl: n_envs={n_envs} needs an environment id string (one environment "
                         f"instance cannot be copied); got a {type(env).__name__}")
    return gym.vector.SyncVectorEnv([lambda: env], **kwargs)


def final_observations(info, n):
    """The per-environment last observations of episodes that ended in this step (SAME_STEP autoreset)."""
    for key in ("final_obs", "final_observation"):  # gymnasium >= 1.1, gymnasium 0.29
        if key in info:
            return info[key], info.get("_" + key, np.ones(n, bool))
    return None, np.zeros(n, bool)


def _json_floats(arr):
    """A flat list JSON can hold: infinite bounds become the strings "inf" / "-inf"."""
    flat = np.asarray(arr, float).ravel().tolist()
    return [v if np.isfinite(v) else ("inf" if v > 0 else "-inf") for v in flat]


class SpaceSpec:
    """What an agent must know of a space without the environment: kind, shape, size and bounds.

    ``discrete``: integers ``start .. start + n - 1`` (a network sees them one-hot); ``box``: float
    arrays of ``shape`` within ``[low, high]`` (a network sees them flattened).
    """

    def __init__(self, kind, shape=(), n=None, start=0, low=None, high=None):
        self.kind, self.shape, self.n, self.start = kind, tuple(shape), n, int(start)
        self.low = None if low is None else np.asarray(low, np.float32)
        self.high = None if high is None else np.asarray(high, np.float32)

    @classmethod
    def from_space(cls, space, who="space"):
        gym = gymnasium()
        if isinstance(space, gym.spaces.Discrete):
            return cls("discrete", (), n=int(space.n), start=int(space.start))
        if isinstance(space, gym.spaces.Box):
            return cls("box", space.shape, low=space.low, high=space.high)
        raise TypeError(f"shendu.rl: {who} {space} is not supported; expected Discrete or Box")

    @property
    def flat_dim(self):
        return self.n if self.kind == "discrete" else int(np.prod(self.shape, dtype=np.int64))

    def to_json(self):
        d = {"kind": self.kind, "shape": list(self.shape), "n": self.n, "start": self.start}
        if self.low is not None:
            d["low"], d["high"] = _json_floats(self.low), _json_floats(self.high)
        return d

    @classmethod
    def from_json(cls, d):
        low, high = d.get("low"), d.get("high")
        low = None if low is None else np.array([float(v) for v in low], np.float32).reshape(d["shape"])
        high = None if high is None else np.array([float(v) for v in high], np.float32).reshape(d["shape"])
        return cls(d["kind"], d["shape"], d.get("n"), d.get("start", 0), low, high)

    def is_batch(self, obs):
        """True when ``obs`` holds several observations (one more leading axis than the space)."""
        arr = np.asarray(obs)
        return arr.ndim > len(self.shape)

    def encode(self, obs, flatten=True):
        """Observations (batch first) as the float32 array a network reads: one-hot or flattened."""
        arr = np.asarray(obs)
        if self.kind == "discrete":
            idx = arr.reshape(-1).astype(np.int64) - self.start
            out = np.zeros((idx.size, self.n), np.float32)
            out[np.arange(idx.size), idx] = 1.0
            return out
        arr = arr.astype(np.float32, copy=False).reshape((-1, *self.shape))
        return arr.reshape(arr.shape[0], -1) if flatten else arr

    def __repr__(self):
        return f"SpaceSpec({self.kind}, shape={self.shape}, n={self.n})"
