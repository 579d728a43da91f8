"""Evaluation during ``learn``: :class:`EvalCallback` keeps the best policy seen, and the callbacks that
stop training on what it measured (:class:`StopTrainingOnRewardThreshold`,
:class:`StopTrainingOnNoModelImprovement`), in Stable-Baselines3's shape.

A policy's last state is not its best one: DQN on CartPole can score 500 at 40k steps and 200 at
100k. Every ``eval_freq`` environment steps the callback runs ``n_eval_episodes`` whole episodes of
``eval_env`` with ``agent.predict(obs, deterministic=True)`` and, when their mean return is the best so
far, keeps the agent (in memory, and in ``best_model_save_path/best_model.safetensors`` if given)::

    stop = rl.StopTrainingOnRewardThreshold(reward_threshold=475)
    cb = rl.EvalCallback("CartPole-v1", eval_freq=5_000, callback_on_new_best=stop)
    agent.learn(100_000, callback=cb)
    best = cb.best_agent                          # or rl.DQN.load("best/best_model.safetensors")
"""
import io
import os

import numpy as np

from .._fileio import atomic_write, atomic_write_bytes
from ..train.callbacks import Callback
from ._env import is_vector_env, make_env
from .common import evaluate_policy

__all__ = ["EvalCallback", "StopTrainingOnRewardThreshold", "StopTrainingOnNoModelImprovement"]

BEST_MODEL = "best_model.safetensors"


class EvalCallback(Callback):
    """Evaluate the agent every ``eval_freq`` environment steps and keep the best one.

    ``eval_env``: a single environment or an id string (use a separate instance from the training
    environment). ``eval_freq`` counts environment steps (``agent.num_timesteps``), so with ``n_envs``
    parallel environments it is not multiplied by ``n_envs``. After each evaluation:

    - ``last_mean_reward`` and ``evaluations_timesteps`` / ``evaluations_results`` /
      ``evaluations_length`` (one row of ``n_eval_episodes`` per evaluation; also written to
      ``log_path/evaluations.npz`` when ``log_path`` is given) are updated;
    - a mean strictly above ``best_mean_reward`` keeps the agent: ``best_weights`` (as
      ``agent.get_weights()``), ``best_timestep``, the bytes of its file (``best_agent`` loads them)
      and ``best_model_save_path/best_model.safetensors``; then ``callback_on_new_best`` runs;
    - ``callback_after_eval`` runs (either callback may set ``agent.stop_training``).

    ``seed`` seeds the first reset of the first evaluation; later ones go on from the environment's
    own generator (so each evaluation sees new episodes, and the run is reproducible).
    """

    def __init__(self, eval_env, callback_on_new_best=None, callback_after_eval=None, n_eval_episodes=5,
                 eval_freq=10_000, log_path=None, best_model_save_path=None, deterministic=True,
                 render=False, verbose=1, warn=True, seed=None):
        super().__init__()
        if int(eval_freq) < 1:
            raise ValueError(f"EvalCallback: eval_freq must be >= 1 environment step, got {eval_freq}")
        if int(n_eval_episodes) < 1:
            raise ValueError(f"EvalCallback: n_eval_episodes must be >= 1, got {n_eval_episodes}")
        env = make_env(eval_env)
        if is_vector_env(env):
            raise TypeError("EvalCallback: eval_env must be a single environment (or an id string), "
                            "not a vector one")
        self.eval_env = env
        self.callback_on_new_best, self.callback_after_eval = callback_on_new_best, callback_after_eval
        for child in (callback_on_new_best, callback_after_eval):
            if child is not None:
                child.parent = self
        self.n_eval_episodes, self.eval_freq = int(n_eval_episodes), int(eval_freq)
        self.log_path, self.best_model_save_path = log_path, best_model_save_path
        self.deterministic, self.render, self.verbose, self.warn = deterministic, render, verbose, warn
        self.seed = seed
        self._reset_results()

    def _reset_results(self):
        self.best_mean_reward, self.last_mean_reward = -np.inf, -np.inf
        self.best_weights, self.best_timestep, self._best_bytes = None, None, None
        self.evaluations_timesteps, self.evaluations_results, self.evaluations_length = [], [], []
        self.n_evaluations = 0
        self._next_eval = None
        self._seeded = False

    def set_model(self, model):
        super().set_model(model)
        for child in (self.callback_on_new_best, self.callback_after_eval):
            if child is not None:
                child.set_model(model)

    def on_train_begin(self, logs=None):
        if self.best_model_save_path is not None:
            os.makedirs(self.best_model_save_path, exist_ok=True)
        if self.log_path is not None:
            os.makedirs(self.log_path, exist_ok=True)
        # the next multiple of eval_freq after where this learn() starts (learn(reset_num_timesteps=False)
        # goes on counting)
        self._next_eval = (self.model.num_timesteps // self.eval_freq + 1) * self.eval_freq
        for child in (self.callback_on_new_best, self.callback_after_eval):
            if child is not None:
                child.on_train_begin(logs)

    def on_train_batch_end(self, batch, logs=None):
        if self._next_eval is None:  # used outside learn(): start counting now
            self.on_train_begin()
        if self.model.num_timesteps >= self._next_eval:
            while self._next_eval <= self.model.num_timesteps:
                self._next_eval += self.eval_freq
            self.evaluate()

    def evaluate(self):
        """Run one evaluation now; returns its mean return."""
        agent = self.model
        seed = None
        if not self._seeded:
            seed, self._seeded = self.seed, True
        returns, lengths = evaluate_policy(agent, self.eval_env, n_eval_episodes=self.n_eval_episodes,
                                           deterministic=self.deterministic, render=self.render,
                                           return_episode_rewards=True, seed=seed)
        mean, std = float(np.mean(returns)), float(np.std(returns))
        self.n_evaluations += 1
        self.last_mean_reward = mean
        self.evaluations_timesteps.append(int(agent.num_timesteps))
        self.evaluations_results.append([float(r) for r in returns])
        self.evaluations_length.append([int(n) for n in lengths])
        if self.log_path is not None:
            arrays = dict(timesteps=np.array(self.evaluations_timesteps),
                          results=np.array(self.evaluations_results),
                          ep_lengths=np.array(self.evaluations_length))
            atomic_write(os.path.join(self.log_path, "evaluations.npz"), lambda tmp: np.savez(tmp, **arrays))
        if self.verbose:
            print(f"Eval num_timesteps={agent.num_timesteps}, episode_reward={mean:.2f} +/- {std:.2f}, "
                  f"episode_length={np.mean(lengths):.1f}", flush=True)
        if mean > self.best_mean_reward:
            if self.verbose:
                print(f"New best mean reward: {mean:.2f} (was {self.best_mean_reward:.2f})", flush=True)
            self.best_mean_reward = mean
            self.best_timestep = int(agent.num_timesteps)
            self.best_weights = agent.get_weights()
            buf = io.BytesIO()
            agent.save(buf)
            self._best_bytes = buf.getvalue()
            if self.best_model_save_path is not None:
                atomic_write_bytes(os.path.join(self.best_model_save_path, BEST_MODEL), [self._best_bytes])
            if self.callback_on_new_best is not None:
                self.callback_on_new_best.on_eval(self)
        if self.callback_after_eval is not None:
            self.callback_after_eval.on_eval(self)
        return mean

    @property
    def best_agent(self):
        """A new agent of the model's class holding the best policy evaluated (None before the first
        evaluation); pass it an environment with ``best.set_env(env)`` to go on learning."""
        if self._best_bytes is None:
            return None
        return type(self.model).load(io.BytesIO(self._best_bytes))

    def restore_best(self):
        """Put the best weights back into the agent being trained (in place); returns the agent."""
        if self.best_weights is None:
            raise RuntimeError("EvalCallback.restore_best: no evaluation has run yet (eval_freq="
                               f"{self.eval_freq}, the agent is at {self.model.num_timesteps} steps)")
        self.model.set_weights(self.best_weights)
        return self.model


class _EvalChild(Callback):
    """A callback that an :class:`EvalCallback` runs after an evaluation (``on_eval(parent)``)."""

    parent = None

    def on_train_begin(self, logs=None):
        if self.parent is None:
            raise ValueError(f"{type(self).__name__}: give it to an EvalCallback as callback_on_new_best= "
                             "or callback_after_eval=, not to learn() directly; it acts on the "
                             "evaluations that callback makes")

    def on_eval(self, parent):
        raise NotImplementedError


class StopTrainingOnRewardThreshold(_EvalChild):
    """Stop ``learn`` once the best evaluated mean return reaches ``reward_threshold``
    (``EvalCallback(..., callback_on_new_best=StopTrainingOnRewardThreshold(475))``)."""

    def __init__(self, reward_threshold, verbose=0):
        super().__init__()
        self.reward_threshold, self.verbose = float(reward_threshold), verbose

    def on_eval(self, parent):
        if parent.best_mean_reward >= self.reward_threshold:
            self.model.stop_training = True
            if self.verbose:
                print(f"Stopping training: the best mean reward {parent.best_mean_reward:.2f} reached "
                      f"the threshold {self.reward_threshold:.2f}", flush=True)


class StopTrainingOnNoModelImprovement(_EvalChild):
    """Stop ``learn`` after ``max_no_improvement_evals`` evaluations in a row without a new best, once
    ``min_evals`` evaluations have run (``EvalCallback(..., callback_after_eval=...)``)."""

    def __init__(self, max_no_improvement_evals, min_evals=0, verbose=0):
        super().__init__()
        self.max_no_improvement_evals, self.min_evals = int(max_no_improvement_evals), int(min_evals)
        self.verbose = verbose
        self._best, self._since = -np.inf, 0

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._best, self._since = -np.inf, 0

    def on_eval(self, parent):
        if parent.n_evaluations > self.min_evals:
            self._since = 0 if parent.best_mean_reward > self._best else self._since + 1
        self._best = parent.best_mean_reward
        if self._since > self.max_no_improvement_evals:
            self.model.stop_training = True
            if self.verbose:
                print(f"Stopping training: no new best mean reward in {self._since} evaluations", flush=True)
