"""What every agent shares: the Stable-Baselines3 shape (``learn`` / ``predict`` / ``save`` / ``load``),
the training logs through shendu.train's callbacks, history and progress bar, and ``evaluate_policy``.

An *epoch* of the callbacks is one finished episode: ``on_epoch_end(episode, logs)`` receives
``episode_return``, ``episode_length``, ``return_mean`` (mean of the last 100 episodes),
``running_return`` (r ← 0.95 r + 0.05 G), ``timesteps`` and, when the agent has them, ``loss`` (mean of
the updates since the previous episode) and ``epsilon``. ``on_train_batch_end(step, logs)`` is called
after every environment step, so ``self.model.stop_training = True`` stops learning at once;
``EarlyStopping(monitor="running_return", mode="max", baseline=...)``, ``CSVLogger`` and
``LambdaCallback`` work as in ``fit``. ``learn`` leaves the :class:`~shendu.train.History` on
``agent.history`` (one value per episode).
"""
import collections
import json
import math

import numpy as np

from .. import nn
from ..random import manual_seed
from ..serialization import load as _load
from ..serialization import save as _save
from ..tensor import Tensor
from ..train.callbacks import Callback, CallbackList
from ..train.progress import Progbar
from ._env import SpaceSpec, make_env

__all__ = ["BaseAgent", "evaluate_policy", "linear_schedule", "mlp", "RLProgbar", "FunctionCallback"]

FORMAT = "shendu.rl/1"


def linear_schedule(start, end=None, end_fraction=1.0):
    """A schedule ``f(progress_remaining)`` going linearly from ``start`` (progress 1) to ``end`` at
    ``end_fraction`` of the run, then constant: ``learning_rate=linear_schedule(1e-3, 0.0)``."""
    end = 0.0 if end is None else end

    def schedule(progress_remaining):
        done = 1.0 - progress_remaining
        if done >= end_fraction:
            return end
        return start + (end - start) * done / end_fraction

    schedule.spec = {"linear_schedule": [start, end, end_fraction]}
    return schedule


def _value(v, progress_remaining):
    return float(v(progress_remaining)) if callable(v) else float(v)


_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}


def mlp(in_dim, out_dim, net_arch=(64, 64), activation="tanh"):
    """``Linear → act → ... → Linear``: the network an ``"MlpPolicy"`` builds, ``net_arch`` hidden widths."""
    act = _ACTIVATIONS[activation] if isinstance(activation, str) else activation
    layers, width = [], in_dim
    for h in net_arch:
        layers += [nn.Linear(width, int(h)), act()]
        width = int(h)
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class RLProgbar(Callback):
    """shendu's progress bar over the run's environment steps, showing the latest episode logs."""

    def __init__(self, stream=None, dynamic=None, keys=("return_mean", "loss", "epsilon")):
        super().__init__()
        self.stream, self.dynamic, self.keys = stream, dynamic, keys
        self.bar, self.values, self.start = None, {}, 0

    def on_train_begin(self, logs=None):
        self.bar = Progbar(self.params.get("steps"), verbose=1, stream=self.stream, dynamic=self.dynamic)
        self.start = self.params.get("start", 0)
        self.values = {}

    def on_epoch_end(self, epoch, logs=None):
        self.values = {k: logs[k] for k in self.keys if k in (logs or {})}

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(batch - self.start, list(self.values.items()), finalize=False)

    def on_train_end(self, logs=None):
        done = self.model.num_timesteps - self.start
        self.bar.target = done if self.bar.target is None else min(self.bar.target, done)
        self.bar.update(done, list(self.values.items()), finalize=True)


class FunctionCallback(Callback):
    """A plain function as Stable-Baselines3 takes it: ``fn(locals_, globals_)`` after every step, where
    ``locals_`` holds ``self`` (the agent), ``num_timesteps`` and ``logs``; returning False stops learning."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def on_train_batch_end(self, batch, logs=None):
        if self.fn({"self": self.model, "num_timesteps": batch, "logs": logs}, {}) is False:
            self.model.stop_training = True


class BaseAgent:
    """Stable-Baselines3's shape on shendu: ``Agent(policy, env, **hyper)``, ``learn``, ``predict``,
    ``save`` / ``Agent.load``, and the ``get_weights`` / ``set_weights`` / ``stop_training`` that
    shendu.train's callbacks use."""

    policy_aliases = ("MlpPolicy",)

    def __init__(self, policy, env, seed=None, verbose=0, observation_space=None, action_space=None):
        self.seed = seed
        self.verbose = verbose
        self.policy_name = policy if isinstance(policy, str) else "custom"
        if isinstance(policy, str) and policy not in self.policy_aliases:
            raise ValueError(f"{type(self).__name__}: unknown policy {policy!r}; expected one of "
                             f"{list(self.policy_aliases)} or a shendu nn.Module")
        self.env = None if env is None else self._wrap_env(env)
        if self.env is not None:
            observation_space = SpaceSpec.from_space(self.env.single_observation_space if hasattr(
                self.env, "single_observation_space") else self.env.observation_space, "observation space")
            action_space = SpaceSpec.from_space(self.env.single_action_space if hasattr(
                self.env, "single_action_space") else self.env.action_space, "action space")
        if observation_space is None or action_space is None:
            raise ValueError(f"{type(self).__name__}: give an environment (or an id string such as "
                             "'CartPole-v1')")
        self.observation_space, self.action_space = observation_space, action_space
        self.rng = np.random.default_rng(seed)
        if seed is not None:
            manual_seed(seed)
        self.num_timesteps = 0
        self.stop_training = False
        self.history = None
        self.optimizer = None
        self._episodes = 0
        self._recent = collections.deque(maxlen=100)
        self._running = None
        self._losses = []
        self._env_seeded = False

    # ---- environments
    def _wrap_env(self, env):
        return make_env(env)

    def set_env(self, env):
        self.env = self._wrap_env(env)
        self._env_seeded = False

    def get_env(self):
        return self.env

    def _reset_seed(self):
        """The seed for the first ``reset`` of a run (then the environment's own generator goes on)."""
        if self._env_seeded or self.seed is None:
            return None
        self._env_seeded = True
        return int(self.seed)

    def _require_env(self):
        if self.env is None:
            raise ValueError(f"{type(self).__name__}.learn: no environment; pass env= when building or "
                             "loading the agent, or call set_env(env)")
        return self.env

    # ---- the networks (subclasses list theirs by name)
    def _networks(self):
        return {}

    def _arrays(self):
        """Named arrays that are not in a network (a Q-table)."""
        return {}

    def _set_arrays(self, arrays):
        pass

    def get_weights(self):
        out = [p.numpy().copy() for net in self._networks().values() for p in net.state_dict().values()]
        return out + [np.array(a, copy=True) for a in self._arrays().values()]

    def set_weights(self, weights):
        weights = list(weights)
        k = 0
        for net in self._networks().values():
            state = net.state_dict()
            net.load_state_dict({name: Tensor(np.asarray(weights[k + i])) for i, name in enumerate(state)})
            k += len(state)
        names = list(self._arrays())
        self._set_arrays({n: np.asarray(w) for n, w in zip(names, weights[k:])})

    # ---- acting
    def _act(self, obs_batch, deterministic):
        raise NotImplementedError

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        """``(action, state)``: actions for one observation or a batch of them (``state`` is None: no
        recurrent policies). Box actions are clipped to the action space's bounds."""
        batch = self.observation_space.is_batch(observation)
        actions = self._act(observation if batch else np.asarray(observation)[None], deterministic)
        if self.action_space.kind == "box":
            actions = np.clip(actions, self.action_space.low, self.action_space.high)
        return (actions if batch else actions[0]), state

    # ---- learning
    def learn(self, total_timesteps, callback=None, log_interval=None, progress_bar=False,
              reset_num_timesteps=True, tb_log_name=None):
        """Interact with the environment for ``total_timesteps`` steps and learn; returns ``self``."""
        self._require_env()
        total_timesteps = int(total_timesteps)
        if total_timesteps < 0:
            raise ValueError(f"{type(self).__name__}.learn: total_timesteps must be >= 0, "
                             f"got {total_timesteps}")
        if reset_num_timesteps:
            self.num_timesteps = 0
            self._episodes = 0
            self._recent.clear()
            self._running = None
        self._start = self.num_timesteps
        self._total = total_timesteps
        self._end = self.num_timesteps + total_timesteps
        self.stop_training = False
        self.callbacks = self._callback_list(callback, progress_bar)
        self.callbacks.on_train_begin()
        self.callbacks.on_epoch_begin(self._episodes)
        self._learn()
        self.callbacks.on_train_end(self._last_logs())
        return self

    def _callback_list(self, callback, progress_bar):
        if isinstance(callback, CallbackList):
            cbs = list(callback.callbacks)
        elif callback is None:
            cbs = []
        elif isinstance(callback, (list, tuple)):
            cbs = list(callback)
        else:
            cbs = [callback]
        cbs = [FunctionCallback(c) if callable(c) and not hasattr(c, "set_model") else c for c in cbs]
        if progress_bar and not any(isinstance(c, RLProgbar) for c in cbs):
            cbs.append(RLProgbar())
        return CallbackList(cbs, add_history=True, model=self, verbose=self.verbose, epochs=None,
                            steps=self._end, start=self._start, total_timesteps=self._total)

    def _progress_remaining(self):
        return 1.0 - (self.num_timesteps - self._start) / max(self._total, 1)

    def _on_step(self, n=1):
        """Count ``n`` environment steps; False when training must stop."""
        self.num_timesteps += n
        self.callbacks.on_train_batch_end(self.num_timesteps, {"timesteps": self.num_timesteps})
        return not self.stop_training and self.num_timesteps < self._end

    def _extra_logs(self):
        return {}

    def _last_logs(self):
        logs = {"timesteps": self.num_timesteps}
        if self._recent:
            logs["return_mean"] = float(np.mean(self._recent))
            logs["running_return"] = float(self._running)
        return logs

    def _on_episode_end(self, episode_return, episode_length):
        episode_return = float(episode_return)
        self._recent.append(episode_return)
        previous = episode_return if self._running is None else self._running
        self._running = 0.95 * previous + 0.05 * episode_return
        logs = {"episode_return": episode_return, "episode_length": int(episode_length),
                "return_mean": float(np.mean(self._recent)), "running_return": float(self._running),
                "timesteps": self.num_timesteps}
        if self._losses:
            logs["loss"] = float(np.mean(self._losses))
            self._losses = []
        logs.update(self._extra_logs())
        self.callbacks.on_epoch_end(self._episodes, logs)
        self._episodes += 1
        self.callbacks.on_epoch_begin(self._episodes)

    # ---- files
    def _hyperparameters(self):
        return dict(self._hyper)

    @staticmethod
    def _jsonable(hyper):
        out = {}
        for k, v in hyper.items():
            if callable(v) and hasattr(v, "spec"):
                out[k] = {"$schedule": v.spec}
            elif callable(v):
                continue  # a function of the user's: not kept; give it again to load(..., **kwargs)
            else:
                try:
                    json.dumps(v, allow_nan=False)
                except (TypeError, ValueError):
                    continue
                out[k] = v
        return out

    @staticmethod
    def _unjson(hyper):
        out = {}
        for k, v in hyper.items():
            if isinstance(v, dict) and "$schedule" in v:
                out[k] = linear_schedule(*v["$schedule"]["linear_schedule"])
            else:
                out[k] = v
        return out

    def save(self, path):
        """One safetensors file (atomic write, no pickle): the networks (whole shendu modules), the
        hyperparameters, spaces and counters as JSON."""
        meta = {"algorithm": type(self).__name__, "policy": self.policy_name,
                "hyperparameters": self._jsonable(self._hyperparameters()),
                "observation_space": self.observation_space.to_json(),
                "action_space": self.action_space.to_json(), "num_timesteps": self.num_timesteps}
        obj = {"format": FORMAT, "meta": json.dumps(meta, allow_nan=False),
               "networks": dict(self._networks()),
               "arrays": {k: np.asarray(v) for k, v in self._arrays().items()}}
        _save(obj, path)

    def save_weights(self, path):
        self.save(path)

    @classmethod
    def load(cls, path, env=None, custom_objects=None, **kwargs):
        """The agent saved at ``path``; ``env`` (or an id string) to go on learning or to evaluate.
        ``custom_objects`` / ``kwargs`` replace saved hyperparameters. A policy of your own class loads
        once its class is allowed: ``shendu.serialization.add_safe_globals([MyPolicy])``."""
        obj = _load(path)
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise ValueError(f"{cls.__name__}.load: {path} is not a shendu.rl agent file (expected format "
                             f"{FORMAT!r})")
        meta = json.loads(obj["meta"])
        if cls is not BaseAgent and meta["algorithm"] != cls.__name__:
            raise ValueError(f"{cls.__name__}.load: {path} holds a {meta['algorithm']} agent, not a "
                             f"{cls.__name__}; load it with {meta['algorithm']}.load")
        target = cls if cls is not BaseAgent else _ALGORITHMS[meta["algorithm"]]
        hyper = cls._unjson(meta["hyperparameters"])
        hyper.update(custom_objects or {})
        hyper.update(kwargs)
        nets = obj["networks"]
        policy = meta["policy"] if meta["policy"] != "custom" else nets[target._policy_network]
        agent = target(policy, env, observation_space=SpaceSpec.from_json(meta["observation_space"]),
                       action_space=SpaceSpec.from_json(meta["action_space"]), **hyper)
        for name, net in agent._networks().items():
            if net is not nets[name]:
                net.load_state_dict(nets[name].state_dict())
        agent._set_arrays({k: np.asarray(v) for k, v in obj["arrays"].items()})
        agent.num_timesteps = int(meta["num_timesteps"])
        return agent

    def load_weights(self, path):
        other = type(self).load(path)
        self.set_weights(other.get_weights())

    def __repr__(self):
        return f"<{type(self).__name__} policy={self.policy_name} timesteps={self.num_timesteps}>"


_ALGORITHMS = {}


def register(cls):
    _ALGORITHMS[cls.__name__] = cls
    return cls


def evaluate_policy(model, env, n_eval_episodes=10, deterministic=True, render=False, callback=None,
                    reward_threshold=None, return_episode_rewards=False, warn=True, seed=None):
    """Run ``n_eval_episodes`` whole episodes with ``model.predict`` and return ``(mean, std)`` of their
    returns (``(returns, lengths)`` lists with ``return_episode_rewards=True``). ``env`` is a single
    environment or an id string; an episode ends when it is terminated or truncated. ``seed`` seeds
    the first reset. ``reward_threshold`` raises an AssertionError if the mean falls below it."""
    from ._env import is_vector_env

    env = make_env(env)
    if is_vector_env(env):
        raise TypeError("evaluate_policy: pass a single environment (or an id string), not a vector one")
    returns, lengths = [], []
    for episode in range(int(n_eval_episodes)):
        obs, _ = env.reset(seed=seed if episode == 0 else None)
        total, length, done = 0.0, 0, False
        while not done:
            action, _ = model.predict(obs, deterministic=deterministic)
            obs, reward, terminated, truncated, _ = env.step(_env_action(action))
            total += float(reward)
            length += 1
            done = terminated or truncated
            if render:
                env.render()
            if callback is not None:
                callback(locals(), globals())
        returns.append(total)
        lengths.append(length)
    mean, std = float(np.mean(returns)), float(np.std(returns))
    if reward_threshold is not None:
        assert mean >= reward_threshold, f"evaluate_policy: mean return {mean:.2f} < {reward_threshold:.2f}"
    if return_episode_rewards:
        return returns, lengths
    return mean, std


def _env_action(action):
    arr = np.asarray(action)
    return arr.item() if arr.ndim == 0 and arr.dtype.kind in "iu" else arr


def _check_finite(value, who):
    if not math.isfinite(value):
        raise FloatingPointError(f"{who}: the loss became {value}; lower the learning rate or clip gradients")
