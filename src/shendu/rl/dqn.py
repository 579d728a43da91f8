"""Deep Q-network (Mnih et al. 2015) with double Q-learning (van Hasselt et al. 2016).

For a minibatch of transitions (s, a, r, s', terminated) from the replay buffer:

    a*  = argmax_a' Q_θ(s', a')                      (double DQN: the online network picks...)
    y   = r + γ (1 − terminated) Q_θ⁻(s', a*)        (...the target network scores; plain DQN: max_a' Q_θ⁻)
    L   = mean Huber(Q_θ(s, a) − y)                  (Huber: ½x² for |x| ≤ 1, |x| − ½ beyond)

θ⁻ ← τ θ + (1 − τ) θ⁻ every ``target_update_interval`` environment steps (τ = 1: a copy), the
gradient's norm is clipped to ``max_grad_norm``, and actions are ε-greedy with ε falling linearly
from ``exploration_initial_eps`` to ``exploration_final_eps`` over ``exploration_fraction`` of the run.
A truncated step is stored with terminated = 0, so its target bootstraps from s'.
"""
import copy

import numpy as np

from .. import nn, optim
from ..autograd import no_grad
from ..nn import functional as F
from ..tensor import Tensor
from ..train.lr import set_lr
from .common import BaseAgent, _check_finite, _env_action, _value, linear_schedule, mlp, register

__all__ = ["DQN", "ReplayBuffer"]


class ReplayBuffer:
    """A ring buffer of transitions (obs, action, reward, next_obs, terminated), sampled uniformly."""

    def __init__(self, capacity, obs_shape, rng=None):
        self.capacity = int(capacity)
        obs_shape = (obs_shape,) if isinstance(obs_shape, int) else tuple(obs_shape)
        self.obs = np.zeros((self.capacity, *obs_shape), np.float32)
        self.next_obs = np.zeros((self.capacity, *obs_shape), np.float32)
        self.actions = np.zeros(self.capacity, np.int64)
        self.rewards = np.zeros(self.capacity, np.float32)
        self.terminated = np.zeros(self.capacity, np.float32)
        self.pos, self.size = 0, 0
        self.rng = rng if rng is not None else np.random.default_rng()

    def add(self, obs, action, reward, next_obs, terminated):
        i = self.pos
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.terminated[i] = next_obs, float(terminated)
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size):
        idx = self.rng.integers(0, self.size, size=batch_size)
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.terminated[idx]

    def __len__(self):
        return self.size


# Stable-Baselines3 zoo's tuned CartPole-v1 values, with the learning rate falling linearly to 0 over
# the run and a [256, 256] network: at 100k steps on CartPole a constant rate leaves the last policy
# anywhere between 35 and 500 (benchmarks/RESULTS.md); the decay lets it settle.
DEFAULT_LEARNING_RATE = linear_schedule(2.3e-3, 0.0)
DEFAULT_NET_ARCH = (256, 256)


class DQN(BaseAgent):
    """``DQN("MlpPolicy", "CartPole-v1").learn(100_000)``; ``policy`` may be a shendu module mapping a
    batch of observations to Q-values (one per action). The defaults learn CartPole-v1 (the learning
    rate falls linearly from 2.3e-3 to 0 over ``learn``; give a number for a constant one). Keep the
    best policy of a run with :class:`~shendu.rl.EvalCallback`: a DQN's last policy is not always its best."""

    _policy_network = "q_net"

    def __init__(self, policy="MlpPolicy", env=None, learning_rate=DEFAULT_LEARNING_RATE, buffer_size=100_000,
                 learning_starts=1000, batch_size=64, tau=1.0, gamma=0.99, train_freq=256, gradient_steps=128,
                 target_update_interval=10, exploration_fraction=0.16, exploration_initial_eps=1.0,
                 exploration_final_eps=0.04, max_grad_norm=10.0, double_q=True, loss="huber",
                 policy_kwargs=None, seed=None, verbose=0, device="auto", observation_space=None,
                 action_space=None):
        self._hyper = dict(learning_rate=learning_rate, buffer_size=buffer_size,
                           learning_starts=learning_starts,
                           batch_size=batch_size, tau=tau, gamma=gamma, train_freq=train_freq,
                           gradient_steps=gradient_steps, target_update_interval=target_update_interval,
                           exploration_fraction=exploration_fraction,
                           exploration_initial_eps=exploration_initial_eps,
                           exploration_final_eps=exploration_final_eps, max_grad_norm=max_grad_norm,
                           double_q=double_q, loss=loss, policy_kwargs=policy_kwargs, seed=seed,
                           verbose=verbose)
        super().__init__(policy, env, seed, verbose, observation_space, action_space)
        if self.action_space.kind != "discrete":
            raise TypeError(f"DQN: needs a Discrete action space, got {self.action_space}; use PPO or A2C")
        if loss not in ("huber", "mse"):
            raise ValueError(f"DQN: loss must be 'huber' or 'mse', got {loss!r}")
        self.learning_rate, self.buffer_size = learning_rate, int(buffer_size)
        self.learning_starts, self.batch_size = int(learning_starts), int(batch_size)
        self.tau, self.gamma = float(tau), float(gamma)
        self.train_freq, self.gradient_steps = int(train_freq), int(gradient_steps)
        self.target_update_interval = max(int(target_update_interval), 1)
        self.exploration_fraction = float(exploration_fraction)
        self.exploration_initial_eps = float(exploration_initial_eps)
        self.exploration_final_eps = float(exploration_final_eps)
        self.max_grad_norm = max_grad_norm
        self.double_q, self.loss_name = bool(double_q), loss
        self.exploration_rate = self.exploration_initial_eps
        if isinstance(policy, nn.Module):
            self.q_net = policy
        else:
            kw = {"net_arch": DEFAULT_NET_ARCH, "activation": "relu", **(policy_kwargs or {})}
            self.q_net = mlp(self.observation_space.flat_dim, self.action_space.n, **kw)
        self._flatten = not isinstance(policy, nn.Module)
        self.q_net_target = copy.deepcopy(self.q_net)
        self.q_net_target.eval()
        self.optimizer = optim.Adam(self.q_net.parameters(), lr=_value(learning_rate, 1.0))
        self.replay_buffer = None
        self._updates = 0

    def _networks(self):
        return {"q_net": self.q_net, "q_net_target": self.q_net_target}

    def _extra_logs(self):
        return {"epsilon": self.exploration_rate}

    def _encode(self, obs):
        return self.observation_space.encode(obs, flatten=self._flatten)

    def q_values(self, obs_batch):
        """Q_θ(s, ·) for a batch of raw observations, as a NumPy array (no graph)."""
        with no_grad():
            return self.q_net(Tensor(self._encode(obs_batch))).numpy()

    def _act(self, obs_batch, deterministic):
        greedy = np.argmax(self.q_values(obs_batch), axis=1)
        if not deterministic:
            explore = self.rng.random(greedy.shape[0]) < self.exploration_rate
            greedy = np.where(explore, self.rng.integers(self.action_space.n, size=greedy.shape[0]), greedy)
        return greedy.astype(np.int64) + self.action_space.start

    def _update_epsilon(self):
        done = 1.0 - self._progress_remaining()
        frac = min(1.0, done / self.exploration_fraction) if self.exploration_fraction > 0 else 1.0
        self.exploration_rate = self.exploration_initial_eps + frac * (
            self.exploration_final_eps - self.exploration_initial_eps)

    def td_targets(self, rewards, next_obs, terminated):
        """y = r + γ (1 − terminated) Q_θ⁻(s', a*); a* from the online net (double) or the target's max."""
        with no_grad():
            x = Tensor(next_obs)
            q_next = self.q_net_target(x).numpy()
            if self.double_q:
                best = np.argmax(self.q_net(x).numpy(), axis=1)
            else:
                best = np.argmax(q_next, axis=1)
        q_next = q_next[np.arange(q_next.shape[0]), best]
        return (rewards + self.gamma * (1.0 - terminated) * q_next).astype(np.float32)

    def train(self, gradient_steps, batch_size):
        set_lr(self.optimizer, _value(self.learning_rate, self._progress_remaining()))
        self.q_net.train()
        for _ in range(gradient_steps):
            obs, actions, rewards, next_obs, terminated = self.replay_buffer.sample(batch_size)
            y = self.td_targets(rewards, next_obs, terminated)
            q = self.q_net(Tensor(obs)).gather(1, Tensor(actions[:, None])).squeeze(1)
            target = Tensor(y)
            loss = F.smooth_l1_loss(q, target) if self.loss_name == "huber" else F.mse_loss(q, target)
            self.optimizer.zero_grad()
            loss.backward()
            if self.max_grad_norm is not None:
                nn.utils.clip_grad_norm_(self.q_net.parameters(), self.max_grad_norm)
            self.optimizer.step()
            value = float(loss.item())
            _check_finite(value, "DQN")
            self._losses.append(value)
            self._updates += 1

    def _update_target(self):
        with no_grad():
            for p_t, p in zip(self.q_net_target.parameters(), self.q_net.parameters()):
                if self.tau >= 1.0:
                    p_t.array[...] = p.array
                else:
                    p_t.array[...] = self.tau * p.array + (1.0 - self.tau) * p_t.array

    def _learn(self):
        env = self.env
        if self.replay_buffer is None:
            example = (np.zeros(self.observation_space.shape) if self.observation_space.kind == "box"
                       else self.observation_space.start)
            self.replay_buffer = ReplayBuffer(self.buffer_size, self._encode(example).shape[1:], self.rng)
        obs, _ = env.reset(seed=self._reset_seed())
        ret, length = 0.0, 0
        while True:
            self._update_epsilon()
            if self.num_timesteps < self.learning_starts:
                action = self.rng.integers(self.action_space.n) + self.action_space.start
            else:
                action = self._act(np.asarray(obs)[None], deterministic=False)[0]
            next_obs, r, terminated, truncated, _ = env.step(_env_action(action))
            self.replay_buffer.add(self._encode(np.asarray(obs)[None])[0],
                                   int(action) - self.action_space.start, float(r),
                                   self._encode(np.asarray(next_obs)[None])[0], terminated)
            ret += float(r)
            length += 1
            obs = next_obs
            t = self.num_timesteps + 1
            if t > self.learning_starts and t % self.train_freq == 0:
                self.train(self.gradient_steps, self.batch_size)
            if t % self.target_update_interval == 0:
                self._update_target()
            if terminated or truncated:
                self._on_episode_end(ret, length)
                ret, length = 0.0, 0
                obs, _ = env.reset()
            if not self._on_step():
                break


register(DQN)
