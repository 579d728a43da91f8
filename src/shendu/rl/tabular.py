"""Tabular Q-learning and SARSA on environments with discrete states and actions.

Both keep a table Q[s, a] and move it toward a one-step target with step size α:

    Q(s, a) ← Q(s, a) + α [ y − Q(s, a) ]
    Q-learning (off-policy):  y = r + γ (1 − terminated) max_a' Q(s', a')
    SARSA (on-policy):        y = r + γ (1 − terminated) Q(s', a'),  a' ~ ε-greedy(Q(s', ·))

A truncated step (a time limit) still bootstraps from s'; only a terminal one drops the future.
Actions are ε-greedy with ε going linearly from ``exploration_initial_eps`` to
``exploration_final_eps`` over the first ``exploration_fraction`` of ``learn``'s steps; ties between
equal Q-values are broken at random, so an all-zero table explores instead of repeating action 0.
"""
import numpy as np

from .common import BaseAgent, _env_action, _value, register

__all__ = ["QLearning", "SARSA", "td_target"]


def td_target(reward, next_value, terminated, gamma):
    """y = r + γ (1 − terminated) v(s'): the one-step target; ``terminated`` zeroes the future, a
    truncation (``terminated`` False) keeps it."""
    return reward + gamma * (1.0 - np.asarray(terminated, np.float64)) * next_value


class QLearning(BaseAgent):
    """Tabular Q-learning: ``QLearning("TabularPolicy", "FrozenLake-v1", learning_rate=0.1)``
    (the policy name may be left out: ``QLearning(env)``). ``q_table`` is the (states, actions) table."""

    policy_aliases = ("TabularPolicy", "MlpPolicy")
    _policy_network = None

    def __init__(self, policy="TabularPolicy", env=None, learning_rate=0.1, gamma=0.99,
                 exploration_fraction=0.5, exploration_initial_eps=1.0, exploration_final_eps=0.05, seed=None,
                 verbose=0, observation_space=None, action_space=None):
        if env is None and not (isinstance(policy, str) and policy in self.policy_aliases):
            policy, env = "TabularPolicy", policy
        self._hyper = dict(learning_rate=learning_rate, gamma=gamma,
                           exploration_fraction=exploration_fraction,
                           exploration_initial_eps=exploration_initial_eps,
                           exploration_final_eps=exploration_final_eps, seed=seed, verbose=verbose)
        super().__init__(policy, env, seed, verbose, observation_space, action_space)
        name = type(self).__name__
        if self.observation_space.kind != "discrete" or self.action_space.kind != "discrete":
            raise TypeError(f"{name}: needs Discrete observation and action spaces, got "
                            f"{self.observation_space} and {self.action_space}; use DQN for continuous "
                            "observations")
        self.learning_rate, self.gamma = learning_rate, float(gamma)
        self.exploration_fraction = float(exploration_fraction)
        self.exploration_initial_eps = float(exploration_initial_eps)
        self.exploration_final_eps = float(exploration_final_eps)
        self.exploration_rate = self.exploration_initial_eps
        self.q_table = np.zeros((self.observation_space.n, self.action_space.n))

    def _arrays(self):
        return {"q_table": self.q_table}

    def _set_arrays(self, arrays):
        if "q_table" in arrays:
            self.q_table = np.array(arrays["q_table"], np.float64)

    def _extra_logs(self):
        return {"epsilon": self.exploration_rate}

    def _greedy(self, s):
        q = self.q_table[s]
        best = np.flatnonzero(q == q.max())
        return int(best[0] if best.size == 1 else self.rng.choice(best))

    def _epsilon_greedy(self, s):
        if self.rng.random() < self.exploration_rate:
            return int(self.rng.integers(self.action_space.n))
        return self._greedy(s)

    def _act(self, obs_batch, deterministic):
        states = np.asarray(obs_batch).reshape(-1).astype(np.int64) - self.observation_space.start
        if deterministic:
            acts = np.argmax(self.q_table[states], axis=1)
        else:
            acts = np.array([self._epsilon_greedy(s) for s in states])
        return acts.astype(np.int64) + self.action_space.start

    def _update_epsilon(self):
        done = 1.0 - self._progress_remaining()
        frac = min(1.0, done / self.exploration_fraction) if self.exploration_fraction > 0 else 1.0
        self.exploration_rate = self.exploration_initial_eps + frac * (
            self.exploration_final_eps - self.exploration_initial_eps)

    def _next_value(self, s_next):
        return self.q_table[s_next].max()

    def _learn(self):
        env = self.env
        o0, a0 = self.observation_space.start, self.action_space.start
        obs, _ = env.reset(seed=self._reset_seed())
        s = int(obs) - o0
        self._update_epsilon()
        a = self._epsilon_greedy(s)
        ret, length = 0.0, 0
        while True:
            obs, r, terminated, truncated, _ = env.step(_env_action(a + a0))
            s2 = int(obs) - o0
            ret += float(r)
            length += 1
            self._update_epsilon()
            a2 = self._epsilon_greedy(s2)
            alpha = _value(self.learning_rate, self._progress_remaining())
            y = td_target(float(r), self._target_next(s2, a2), terminated, self.gamma)
            self.q_table[s, a] += alpha * (y - self.q_table[s, a])
            if terminated or truncated:
                self._on_episode_end(ret, length)
                ret, length = 0.0, 0
                obs, _ = env.reset()
                s2 = int(obs) - o0
                a2 = self._epsilon_greedy(s2)
            s, a = s2, a2
            if not self._on_step():
                break

    def _target_next(self, s2, a2):
        return self.q_table[s2].max()


class SARSA(QLearning):
    """Tabular SARSA: the target uses the action a' the ε-greedy policy takes next (on-policy)."""

    def _target_next(self, s2, a2):
        return self.q_table[s2, a2]


register(QLearning)
register(SARSA)
