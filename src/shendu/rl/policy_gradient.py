"""Policy-gradient agents: REINFORCE with a baseline, A2C and PPO.

Policy-gradient theorem (Sutton et al. 2000): for a policy π_θ(a | s),

    ∇_θ J(θ) = E[ Σ_t ∇_θ log π_θ(a_t | s_t) · A_t ],   A_t = G_t − b(s_t)

where G_t = Σ_k γ^k r_{t+k} is the return and any baseline b(s) that does not depend on the action
keeps the estimate unbiased while lowering its variance (the learned value V(s) is the usual one).

GAE (Schulman et al. 2016) trades bias for variance with λ:

    δ_t = r_t + γ (1 − terminated_t) V(s_{t+1}) − V(s_t)
    Â_t = δ_t + γ λ (1 − done_t) Â_{t+1},         returns R_t = Â_t + V(s_t)

A truncated step keeps γ V(s_{t+1}) (the last observation before the reset) and only the recursion
stops there; a terminated one drops it. PPO (Schulman et al. 2017) maximises the clipped surrogate

    r_t(θ) = π_θ(a_t | s_t) / π_θ_old(a_t | s_t)
    L^CLIP = E[ min(r_t Â_t, clip(r_t, 1 − ε, 1 + ε) Â_t) ]

and the loss minimised is −L^CLIP + c_v (V − R)² − c_e H[π].
"""
import math

import numpy as np

from .. import distributions as D
from .. import nn, optim
from ..autograd import no_grad
from ..nn import functional as F
from ..tensor import Tensor
from ..train.lr import set_lr
from ._env import final_observations, make_vec_env
from .common import BaseAgent, _check_finite, _env_action, _value, mlp, register

__all__ = ["ActorCriticPolicy", "A2C", "PPO", "REINFORCE", "compute_gae", "ppo_clip_loss",
           "discounted_returns"]


def compute_gae(rewards, values, next_values, terminated, truncated, gamma=0.99, gae_lambda=0.95):
    """(advantages, returns) by GAE over arrays of shape (T, ...) in time order.

    ``next_values[t]`` is V(s_{t+1}) of the observation that step t led to (for the last step of an
    episode: its final observation, before any reset). ``terminated[t]`` zeroes that value,
    ``terminated[t] or truncated[t]`` stops the recursion (the next row belongs to a new episode).
    """
    rewards = np.asarray(rewards, np.float64)
    values = np.asarray(values, np.float64)
    next_values = np.asarray(next_values, np.float64)
    term = np.asarray(terminated, np.float64)
    done = np.maximum(term, np.asarray(truncated, np.float64))
    adv = np.zeros_like(rewards)
    last = np.zeros_like(rewards[0]) if rewards.ndim else 0.0
    for t in range(rewards.shape[0] - 1, -1, -1):
        delta = rewards[t] + gamma * (1.0 - term[t]) * next_values[t] - values[t]
        last = delta + gamma * gae_lambda * (1.0 - done[t]) * last
        adv[t] = last
    return adv, adv + values


def discounted_returns(rewards, gamma, bootstrap=0.0):
    """G_t = r_t + γ G_{t+1} with G_T = ``bootstrap`` (V of the last observation of a truncated episode)."""
    out = np.zeros(len(rewards), np.float64)
    g = float(bootstrap)
    for t in range(len(rewards) - 1, -1, -1):
        g = float(rewards[t]) + gamma * g
        out[t] = g
    return out


def ppo_clip_loss(log_prob, old_log_prob, advantages, clip_range):
    """−mean(min(r Â, clip(r, 1 − ε, 1 + ε) Â)) with r = exp(log π − log π_old): PPO's policy loss."""
    log_prob = log_prob if isinstance(log_prob, Tensor) else Tensor(np.asarray(log_prob))
    old = old_log_prob.array if isinstance(old_log_prob, Tensor) else np.asarray(old_log_prob)
    adv = advantages.array if isinstance(advantages, Tensor) else np.asarray(advantages)
    ratio = (log_prob - Tensor(old.astype(log_prob.dtype))).exp()
    adv = Tensor(adv.astype(log_prob.dtype))
    unclipped = ratio * adv
    clipped = ratio.clip(1.0 - clip_range, 1.0 + clip_range) * adv
    return -(unclipped.minimum(clipped)).mean()


def _init_mlp(net, last_gain):
    """Orthogonal weights (gain √2, the last layer ``last_gain``) and zero biases, as PPO codes do."""
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    for i, layer in enumerate(linears):
        nn.init.orthogonal_(layer.weight, gain=last_gain if i == len(linears) - 1 else math.sqrt(2))
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


class ActorCriticPolicy(nn.Module):
    """Two MLPs on the (flattened) observation: ``pi`` (logits, or the mean of a Gaussian with a
    learned state-independent ``log_std``) and ``vf`` (the value). ``forward(x) -> (pi_out, value)``."""

    def __init__(self, obs_dim, n_out, continuous=False, net_arch=(64, 64), activation="tanh",
                 log_std_init=0.0, ortho_init=True):
        super().__init__()
        self.pi = mlp(obs_dim, n_out, net_arch, activation)
        self.vf = mlp(obs_dim, 1, net_arch, activation)
        if ortho_init:
            _init_mlp(self.pi, 0.01)
            _init_mlp(self.vf, 1.0)
        self.continuous = bool(continuous)
        if continuous:
            self.log_std = nn.Parameter(np.full((n_out,), log_std_init, np.float32))

    def forward(self, x):
        return self.pi(x), self.vf(x).reshape(-1)


class _PolicyAgent(BaseAgent):
    """Shared by the policy-gradient agents: the action distribution and value of a batch."""

    _policy_network = "policy"

    def _build_policy(self, policy, policy_kwargs):
        self._flatten = not isinstance(policy, nn.Module)
        if isinstance(policy, nn.Module):
            self.policy = policy
            return
        box = self.action_space.kind == "box"
        n_out = self.action_space.flat_dim if box else self.action_space.n
        self.policy = ActorCriticPolicy(self.observation_space.flat_dim, n_out, continuous=box,
                                        **(policy_kwargs or {}))

    def _networks(self):
        return {"policy": self.policy}

    def _encode(self, obs):
        return self.observation_space.encode(obs, flatten=self._flatten)

    def _forward(self, x):
        out = self.policy(x)
        if isinstance(out, (tuple, list)):
            return out[0], out[1].reshape(-1)
        return out, None

    def _distribution(self, pi_out):
        if self.action_space.kind == "discrete":
            return D.Categorical(logits=pi_out)
        log_std = getattr(self.policy, "log_std", None)
        if log_std is None:
            raise AttributeError(f"{type(self).__name__}: a Box action space needs the policy module to "
                                 "hold a `log_std` Parameter (one per action dimension) beside the mean it "
                                 "returns")
        mean = pi_out.reshape(pi_out.shape[0], -1)
        return D.Independent(D.Normal(mean, log_std.exp()), 1)

    def _act(self, obs_batch, deterministic):
        with no_grad():
            pi_out, _ = self._forward(Tensor(self._encode(obs_batch)))
            if self.action_space.kind == "discrete":
                if deterministic:
                    a = np.argmax(pi_out.numpy(), axis=1)
                else:
                    a = self._distribution(pi_out).sample().numpy()
                return a.astype(np.int64) + self.action_space.start
            if deterministic:
                a = pi_out.numpy()
            else:
                a = self._distribution(pi_out).sample().numpy()
            return a.reshape((-1, *self.action_space.shape))

    def _env_actions(self, a):
        if self.action_space.kind == "discrete":
            return a.astype(np.int64) + self.action_space.start
        space = self.action_space
        return np.clip(a.reshape((-1, *space.shape)), space.low, space.high)


class _OnPolicyAgent(_PolicyAgent):
    """Collects ``n_steps`` steps from each of ``n_envs`` environments (gymnasium.vector), then updates."""

    def _wrap_env(self, env):
        return make_vec_env(env, self.n_envs)

    def _rollout(self):
        venv, T = self.env, self.n_steps
        n = venv.num_envs
        obs_shape = self._encode(self._obs).shape[1:]
        act_shape = () if self.action_space.kind == "discrete" else (self.action_space.flat_dim,)
        buf = {"obs": np.zeros((T, n, *obs_shape), np.float32),
               "actions": np.zeros((T, n, *act_shape), np.int64 if not act_shape else np.float32),
               "rewards": np.zeros((T, n)), "values": np.zeros((T, n)), "log_probs": np.zeros((T, n)),
               "next_values": np.zeros((T, n)), "terminated": np.zeros((T, n)), "truncated": np.zeros((T, n))}
        steps = 0
        for t in range(T):
            x = self._encode(self._obs)
            with no_grad():
                pi_out, v = self._forward(Tensor(x))
                dist = self._distribution(pi_out)
                a = dist.sample()
                logp = dist.log_prob(a).numpy()
            a = a.numpy()
            next_obs, r, term, trunc, info = venv.step(self._env_actions(a))
            r = np.asarray(r, np.float64)
            term, trunc = np.asarray(term, bool), np.asarray(trunc, bool)
            buf["obs"][t], buf["actions"][t] = x.reshape((n, *obs_shape)), a.reshape((n, *act_shape))
            buf["rewards"][t], buf["values"][t], buf["log_probs"][t] = r, v.numpy(), logp
            buf["terminated"][t], buf["truncated"][t] = term, trunc
            cut = trunc & ~term
            if cut.any():
                final, has = final_observations(info, n)
                idx = np.flatnonzero(cut & has)
                if idx.size:
                    fin = np.stack([np.asarray(final[i]) for i in idx])
                    with no_grad():
                        _, fv = self._forward(Tensor(self._encode(fin)))
                    buf["next_values"][t, idx] = fv.numpy()
            self._ep_ret += r
            self._ep_len += 1
            self._obs = next_obs
            steps = t + 1
            for i in np.flatnonzero(term | trunc):
                self._on_episode_end(self._ep_ret[i], self._ep_len[i])
                self._ep_ret[i], self._ep_len[i] = 0.0, 0
            self._on_step(n)
            if self.stop_training:
                break
        with no_grad():
            _, last_v = self._forward(Tensor(self._encode(self._obs)))
        values = buf["values"][:steps]
        nv = buf["next_values"][:steps]
        following = np.concatenate([values[1:], last_v.numpy()[None]], axis=0)
        done = (buf["terminated"][:steps] + buf["truncated"][:steps]) > 0
        nv[~done] = following[~done]
        adv, ret = compute_gae(buf["rewards"][:steps], values, nv, buf["terminated"][:steps],
                               buf["truncated"][:steps], self.gamma, self.gae_lambda)
        flat = lambda a: a[:steps].reshape((steps * n, *a.shape[2:]))  # noqa: E731
        return {"obs": flat(buf["obs"]), "actions": flat(buf["actions"]), "log_probs": flat(buf["log_probs"]),
                "values": flat(buf["values"]), "advantages": adv.reshape(-1), "returns": ret.reshape(-1)}

    def _learn(self):
        venv = self.env
        self._obs, _ = venv.reset(seed=self._reset_seed())
        self._ep_ret = np.zeros(venv.num_envs)
        self._ep_len = np.zeros(venv.num_envs, np.int64)
        while self.num_timesteps < self._end and not self.stop_training:
            batch = self.rollout_buffer = self._rollout()
            set_lr(self.optimizer, _value(self.learning_rate, self._progress_remaining()))
            self.policy.train()
            self.train(batch)

    def _losses_of(self, batch, idx, clip_range=None, clip_range_vf=None):
        obs = Tensor(batch["obs"][idx])
        actions = batch["actions"][idx]
        pi_out, v = self._forward(obs)
        dist = self._distribution(pi_out)
        log_prob = dist.log_prob(Tensor(actions))
        entropy = dist.entropy().mean()
        adv = batch["advantages"][idx]
        if self.normalize_advantage and adv.size > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        if clip_range is None:
            pg = -(log_prob * Tensor(adv.astype(np.float32))).mean()
        else:
            pg = ppo_clip_loss(log_prob, batch["log_probs"][idx], adv, clip_range)
        ret = Tensor(batch["returns"][idx].astype(np.float32))
        if clip_range_vf is None:
            vloss = F.mse_loss(v, ret)
        else:
            old = Tensor(batch["values"][idx].astype(np.float32))
            v_clip = old + (v - old).clip(-clip_range_vf, clip_range_vf)
            vloss = ((v - ret) ** 2).maximum((v_clip - ret) ** 2).mean()
        loss = pg + self.vf_coef * vloss - self.ent_coef * entropy
        return loss, log_prob

    def _step(self, loss):
        self.optimizer.zero_grad()
        loss.backward()
        if self.max_grad_norm is not None:
            nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        self.optimizer.step()
        value = float(loss.item())
        _check_finite(value, type(self).__name__)
        self._losses.append(value)


class PPO(_OnPolicyAgent):
    """Proximal policy optimisation with GAE on ``n_envs`` vectorised environments.

    Each update runs ``n_epochs`` passes over the ``n_steps × n_envs`` rollout in minibatches of
    ``batch_size``; ``clip_range_vf`` (optional) clips the value change too; ``target_kl`` stops the
    epochs early. ``policy`` is ``"MlpPolicy"`` or a module returning ``(logits or mean, value)``.
    The defaults learn CartPole-v1.
    """

    def __init__(self, policy="MlpPolicy", env=None, learning_rate=3e-4, n_steps=512, batch_size=64,
                 n_epochs=10, gamma=0.99, gae_lambda=0.95, clip_range=0.2, clip_range_vf=None,
                 normalize_advantage=True, ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5, target_kl=None,
                 n_envs=4, policy_kwargs=None,
                 seed=None, verbose=0, device="auto", observation_space=None, action_space=None):
        self._hyper = dict(learning_rate=learning_rate, n_steps=n_steps, batch_size=batch_size,
                           n_epochs=n_epochs, gamma=gamma, gae_lambda=gae_lambda, clip_range=clip_range,
                           clip_range_vf=clip_range_vf,
                           normalize_advantage=normalize_advantage, ent_coef=ent_coef, vf_coef=vf_coef,
                           max_grad_norm=max_grad_norm, target_kl=target_kl, n_envs=n_envs,
                           policy_kwargs=policy_kwargs, seed=seed, verbose=verbose)
        self.n_envs = int(n_envs)
        super().__init__(policy, env, seed, verbose, observation_space, action_space)
        self.learning_rate, self.n_steps, self.batch_size = learning_rate, int(n_steps), int(batch_size)
        self.n_epochs, self.gamma, self.gae_lambda = int(n_epochs), float(gamma), float(gae_lambda)
        self.clip_range, self.clip_range_vf = clip_range, clip_range_vf
        self.normalize_advantage, self.ent_coef, self.vf_coef = bool(normalize_advantage), ent_coef, vf_coef
        self.max_grad_norm, self.target_kl = max_grad_norm, target_kl
        self._build_policy(policy, policy_kwargs)
        self.optimizer = optim.Adam(self.policy.parameters(), lr=_value(learning_rate, 1.0), eps=1e-5)

    def train(self, batch):
        clip = _value(self.clip_range, self._progress_remaining())
        clip_vf = self.clip_range_vf
        clip_vf = None if clip_vf is None else _value(clip_vf, self._progress_remaining())
        size = batch["advantages"].shape[0]
        for _ in range(self.n_epochs):
            perm = self.rng.permutation(size)
            kls = []
            for start in range(0, size, self.batch_size):
                idx = perm[start:start + self.batch_size]
                loss, log_prob = self._losses_of(batch, idx, clip, clip_vf)
                self._step(loss)
                log_ratio = log_prob.numpy() - batch["log_probs"][idx]
                kls.append(float(np.mean(np.exp(log_ratio) - 1 - log_ratio)))
            if self.target_kl is not None and np.mean(kls) > 1.5 * self.target_kl:
                break


class A2C(_OnPolicyAgent):
    """Advantage actor-critic: one gradient step per ``n_steps × n_envs`` rollout on
    −log π(a|s) Â + c_v (V − R)² − c_e H, with RMSprop as in the original (Mnih et al. 2016)."""

    def __init__(self, policy="MlpPolicy", env=None, learning_rate=7e-4, n_steps=5, gamma=0.99,
                 gae_lambda=1.0, ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5, rms_prop_eps=1e-5,
                 normalize_advantage=False, n_envs=8, policy_kwargs=None, seed=None, verbose=0, device="auto",
                 observation_space=None, action_space=None):
        self._hyper = dict(learning_rate=learning_rate, n_steps=n_steps, gamma=gamma, gae_lambda=gae_lambda,
                           ent_coef=ent_coef, vf_coef=vf_coef, max_grad_norm=max_grad_norm,
                           rms_prop_eps=rms_prop_eps, normalize_advantage=normalize_advantage, n_envs=n_envs,
                           policy_kwargs=policy_kwargs, seed=seed, verbose=verbose)
        self.n_envs = int(n_envs)
        super().__init__(policy, env, seed, verbose, observation_space, action_space)
        self.learning_rate, self.n_steps = learning_rate, int(n_steps)
        self.gamma, self.gae_lambda = float(gamma), float(gae_lambda)
        self.ent_coef, self.vf_coef, self.max_grad_norm = ent_coef, vf_coef, max_grad_norm
        self.normalize_advantage = bool(normalize_advantage)
        self._build_policy(policy, policy_kwargs)
        self.optimizer = optim.RMSprop(self.policy.parameters(), lr=_value(learning_rate, 1.0), alpha=0.99,
                                       eps=rms_prop_eps)

    def train(self, batch):
        loss, _ = self._losses_of(batch, np.arange(batch["advantages"].shape[0]))
        self._step(loss)


class REINFORCE(_PolicyAgent):
    """Monte-Carlo policy gradient (Williams 1992) with a baseline, one update every ``n_episodes``
    whole episodes: loss = −mean(log π(a_t|s_t) (G_t − b(s_t))) + c_v mean((V(s_t) − G_t)²) − c_e H.

    ``baseline``: ``"value"`` (a learned V(s), which also bootstraps truncated episodes), ``"mean"``
    (the mean return of the batch) or None. ``policy`` is ``"MlpPolicy"`` or a module returning logits
    (or ``(logits, value)``)."""

    def __init__(self, policy="MlpPolicy", env=None, learning_rate=1e-3, gamma=0.99, baseline="value",
                 n_episodes=1, normalize_advantage=True, ent_coef=0.0, vf_coef=0.5, max_grad_norm=None,
                 policy_kwargs=None, seed=None, verbose=0, device="auto", observation_space=None,
                 action_space=None):
        if baseline not in ("value", "mean", None):
            raise ValueError(f"REINFORCE: baseline must be 'value', 'mean' or None, got {baseline!r}")
        self._hyper = dict(learning_rate=learning_rate, gamma=gamma, baseline=baseline, n_episodes=n_episodes,
                           normalize_advantage=normalize_advantage, ent_coef=ent_coef, vf_coef=vf_coef,
                           max_grad_norm=max_grad_norm, policy_kwargs=policy_kwargs, seed=seed,
                           verbose=verbose)
        super().__init__(policy, env, seed, verbose, observation_space, action_space)
        self.learning_rate, self.gamma, self.baseline = learning_rate, float(gamma), baseline
        self.n_episodes, self.normalize_advantage = int(n_episodes), bool(normalize_advantage)
        self.ent_coef, self.vf_coef, self.max_grad_norm = ent_coef, vf_coef, max_grad_norm
        kw = {"net_arch": (128,), "activation": "relu", **(policy_kwargs or {})}
        self._build_policy(policy, kw)
        self.value_net = None
        if baseline == "value" and isinstance(policy, nn.Module):
            probe = self._forward(Tensor(self._encode(self._example_obs())))[1]
            if probe is None:
                self.value_net = mlp(self.observation_space.flat_dim, 1, kw["net_arch"], kw["activation"])
        params = list(self.policy.parameters()) + ([] if self.value_net is None else
                                                   list(self.value_net.parameters()))
        self.optimizer = optim.Adam(params, lr=_value(learning_rate, 1.0))

    def _example_obs(self):
        sp = self.observation_space
        return np.zeros((1, *sp.shape), np.float32) if sp.kind == "box" else np.array([sp.start])

    def _networks(self):
        nets = {"policy": self.policy}
        if self.value_net is not None:
            nets["value_net"] = self.value_net
        return nets

    def _values(self, x, v):
        if self.value_net is not None:
            return self.value_net(x).reshape(-1)
        return v

    def compute_loss(self, obs, actions, returns):
        """The REINFORCE loss on encoded observations, actions and returns G_t (arrays)."""
        x = Tensor(np.asarray(obs, np.float32))
        pi_out, v = self._forward(x)
        v = self._values(x, v)
        dist = self._distribution(pi_out)
        log_prob = dist.log_prob(Tensor(np.asarray(actions)))
        returns = np.asarray(returns, np.float64)
        if self.baseline == "value":
            adv = returns - v.numpy()
        elif self.baseline == "mean":
            adv = returns - returns.mean()
        else:
            adv = returns.copy()
        if self.normalize_advantage and adv.size > 1:
            centred = adv if self.baseline is None else adv - adv.mean()
            adv = centred / (adv.std() + 1e-8)
        loss = -(log_prob * Tensor(adv.astype(np.float32))).mean()
        if self.ent_coef:
            loss = loss - self.ent_coef * dist.entropy().mean()
        if self.baseline == "value":
            loss = loss + self.vf_coef * F.mse_loss(v, Tensor(returns.astype(np.float32)))
        return loss

    def _bootstrap(self, final_obs):
        if self.baseline != "value":
            return 0.0
        with no_grad():
            x = Tensor(self._encode(np.asarray(final_obs)[None]))
            return float(self._values(x, self._forward(x)[1]).numpy()[0])

    def _learn(self):
        env = self.env
        obs, _ = env.reset(seed=self._reset_seed())
        episodes = []
        ep = {"obs": [], "actions": [], "rewards": []}
        while True:
            x = self._encode(np.asarray(obs)[None])
            with no_grad():
                pi_out, _ = self._forward(Tensor(x))
                a = self._distribution(pi_out).sample().numpy()[0]
            env_action = self._env_actions(np.asarray(a)[None])[0]
            obs, r, terminated, truncated, _ = env.step(_env_action(env_action))
            ep["obs"].append(x[0])
            ep["actions"].append(a)
            ep["rewards"].append(float(r))
            going = self._on_step()
            if terminated or truncated:
                boot = self._bootstrap(obs) if truncated and not terminated else 0.0
                ep["returns"] = discounted_returns(ep["rewards"], self.gamma, boot)
                self._on_episode_end(sum(ep["rewards"]), len(ep["rewards"]))
                episodes.append(ep)
                ep = {"obs": [], "actions": [], "rewards": []}
                obs, _ = env.reset()
                if len(episodes) >= self.n_episodes:
                    self._update(episodes)
                    episodes = []
            if not going:
                break

    def _update(self, episodes):
        set_lr(self.optimizer, _value(self.learning_rate, self._progress_remaining()))
        obs = np.concatenate([np.stack(e["obs"]) for e in episodes])
        actions = np.concatenate([np.stack(e["actions"]) for e in episodes])
        returns = np.concatenate([e["returns"] for e in episodes])
        loss = self.compute_loss(obs, actions, returns)
        self.optimizer.zero_grad()
        loss.backward()
        if self.max_grad_norm is not None:
            params = [p for g in self.optimizer.param_groups for p in g["params"]]
            nn.utils.clip_grad_norm_(params, self.max_grad_norm)
        self.optimizer.step()
        value = float(loss.item())
        _check_finite(value, "REINFORCE")
        self._losses.append(value)


register(PPO)
register(A2C)
register(REINFORCE)
