"""shendu.rl: the agents learn tiny problems, tell termination from truncation, and keep SB3's shape."""
import io

import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
import shendu.rl as rl
from conftest import require
from shendu.train import EarlyStopping, LambdaCallback


def _gym():
    return require("gymnasium")


def one_step_env(end="terminate", discrete_obs=False, reward_of_action=None):
    """A single state; every episode lasts one step with reward 1 (or reward_of_action[a]), then is
    terminated or truncated."""
    gym = _gym()

    class OneStep(gym.Env):
        def __init__(self):
            self.observation_space = (gym.spaces.Discrete(1) if discrete_obs
                                      else gym.spaces.Box(-1.0, 1.0, (1,), np.float32))
            self.action_space = gym.spaces.Discrete(2)

        def _obs(self):
            return 0 if discrete_obs else np.zeros(1, np.float32)

        def reset(self, seed=None, options=None):
            super().reset(seed=seed)
            return self._obs(), {}

        def step(self, action):
            r = 1.0 if reward_of_action is None else float(reward_of_action[int(action)])
            return self._obs(), r, end == "terminate", end == "truncate", {}

    return OneStep()


# ---- tabular

@pytest.mark.parametrize("agent_cls", [rl.QLearning, rl.SARSA])
def test_tabular_agents_solve_deterministic_frozenlake_4x4(agent_cls):
    gym = _gym()
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = agent_cls("TabularPolicy", env, learning_rate=0.5, gamma=0.95, seed=0).learn(6000)
    mean, std = rl.evaluate_policy(agent, env, n_eval_episodes=5)
    assert mean == 1.0 and std == 0.0
    assert agent.q_table.shape == (16, 4)


def test_tabular_truncated_step_bootstraps_and_terminated_does_not():
    # one state, reward 1 per step, γ = 0.5: a terminal step is worth 1; a cut-short one is worth
    # 1 + γ Q = 1 / (1 − γ) = 2, since the state goes on after the time limit
    q = {}
    for end in ("terminate", "truncate"):
        agent = rl.QLearning(one_step_env(end, discrete_obs=True), learning_rate=0.5, gamma=0.5, seed=0)
        agent.learn(400)
        q[end] = agent.q_table[0].max()
    assert q["terminate"] == pytest.approx(1.0, abs=1e-6)
    assert q["truncate"] == pytest.approx(2.0, abs=1e-3)


def test_td_target():
    y = rl.td_target(np.array([1.0, 1.0]), np.array([3.0, 3.0]), np.array([True, False]), 0.9)
    np.testing.assert_allclose(y, [1.0, 1.0 + 0.9 * 3.0])


# ---- DQN

def test_dqn_truncated_transition_bootstraps_terminated_does_not():
    stored = {}
    for end in ("terminate", "truncate"):
        agent = rl.DQN("MlpPolicy", one_step_env(end), learning_starts=10, train_freq=1, gradient_steps=1,
                       batch_size=4, seed=0)
        agent.learn(20)
        stored[end] = agent.replay_buffer.terminated[:len(agent.replay_buffer)]
    assert np.all(stored["terminate"] == 1.0) and np.all(stored["truncate"] == 0.0)
    agent = rl.DQN("MlpPolicy", one_step_env(), gamma=0.5, seed=0)
    s = np.zeros((2, 1), np.float32)
    q_next = agent.q_values(s)
    y = agent.td_targets(np.array([1.0, 1.0], np.float32), s, np.array([1.0, 0.0], np.float32))
    a_star = np.argmax(q_next[1])  # double DQN: the online net picks, the target net (equal here) scores
    np.testing.assert_allclose(y, [1.0, 1.0 + 0.5 * q_next[1, a_star]], rtol=1e-6)


def test_dqn_learns_the_value_of_a_truncated_state():
    values = {}
    for end in ("terminate", "truncate"):
        agent = rl.DQN("MlpPolicy", one_step_env(end), gamma=0.5, learning_rate=1e-2, learning_starts=32,
                       train_freq=1, gradient_steps=1, batch_size=32, target_update_interval=20,
                       policy_kwargs={"net_arch": (16,)}, seed=0)
        agent.learn(1500)
        values[end] = agent.q_values(np.zeros((1, 1), np.float32)).max()
    assert values["terminate"] == pytest.approx(1.0, abs=0.1)
    assert values["truncate"] == pytest.approx(2.0, abs=0.2)


def test_dqn_target_network_changes_only_at_its_update_interval():
    record = []

    def on_step(step, logs):
        online = [p.numpy().copy() for p in agent.q_net.parameters()]
        target = [p.numpy().copy() for p in agent.q_net_target.parameters()]
        record.append((step, online, target))

    agent = rl.DQN("MlpPolicy", "CartPole-v1", learning_starts=0, train_freq=1, gradient_steps=1, batch_size=8,
                   target_update_interval=5, learning_rate=1e-2, policy_kwargs={"net_arch": (8,)}, seed=0)
    agent.learn(23, callback=LambdaCallback(on_train_batch_end=on_step))
    assert [r[0] for r in record] == list(range(1, 24))
    previous = record[0][2]
    for step, online, target in record[1:]:
        same = all(np.array_equal(a, b) for a, b in zip(previous, target))
        if step % 5 == 0:
            assert not same, f"the target should be refreshed at step {step}"
            assert all(np.array_equal(a, b) for a, b in zip(online, target))
        else:
            assert same, f"the target changed at step {step}, between updates"
        previous = target


def test_dqn_epsilon_is_logged_and_falls_linearly():
    agent = rl.DQN("MlpPolicy", "CartPole-v1", learning_starts=100, exploration_fraction=0.5,
                   exploration_final_eps=0.1, policy_kwargs={"net_arch": (8,)}, seed=0)
    agent.learn(1000)
    eps = agent.history.history["epsilon"]
    assert eps[0] > eps[-1] and all(a >= b for a, b in zip(eps, eps[1:]))
    assert agent.exploration_rate == pytest.approx(0.1)
    assert "loss" in agent.history.history and "episode_return" in agent.history.history


# ---- policy gradient

def test_compute_gae_tells_truncation_from_termination():
    # two steps; step 0 truncated (its final observation is worth 10), step 1 terminated
    r, v = np.array([1.0, 2.0]), np.array([0.5, 0.25])
    nv = np.array([10.0, 7.0])
    adv, ret = rl.compute_gae(r, v, nv, terminated=[False, True], truncated=[True, False], gamma=0.9,
                              gae_lambda=0.8)
    np.testing.assert_allclose(adv, [1.0 + 0.9 * 10.0 - 0.5, 2.0 - 0.25])
    np.testing.assert_allclose(ret, adv + v)
    # no episode end: δ₀ + γλ δ₁
    adv, _ = rl.compute_gae(r, v, [0.25, 7.0], [False, False], [False, False], 0.9, 0.8)
    d0, d1 = 1.0 + 0.9 * 0.25 - 0.5, 2.0 + 0.9 * 7.0 - 0.25
    np.testing.assert_allclose(adv, [d0 + 0.9 * 0.8 * d1, d1])


def test_discounted_returns_bootstrap():
    np.testing.assert_allclose(rl.discounted_returns([1.0, 1.0], 0.5, bootstrap=4.0), [1 + 0.5 * 3.0, 3.0])


@pytest.mark.parametrize("end", ["terminate", "truncate"])
def test_ppo_rollout_bootstraps_only_truncated_steps(end):
    agent = rl.PPO("MlpPolicy", one_step_env(end), n_envs=1, n_steps=4, gamma=0.5, gae_lambda=1.0, seed=0)
    agent.learn(4)
    batch = agent.rollout_buffer
    expected = 1.0 + (0.5 * batch["values"] if end == "truncate" else 0.0)
    np.testing.assert_allclose(batch["returns"], expected, rtol=1e-5)


class ArmLogits(nn.Module):
    def __init__(self):
        super().__init__()
        self.logits = nn.Parameter(np.zeros(2, np.float32))

    def forward(self, x):
        return x[:, :1] * 0.0 + self.logits


def test_reinforce_gradient_on_a_two_armed_bandit_points_to_the_better_arm():
    env = one_step_env(reward_of_action=[0.0, 1.0])
    policy = ArmLogits()
    agent = rl.REINFORCE(policy, env, baseline="mean", normalize_advantage=False, n_episodes=8,
                         learning_rate=0.05, seed=0)
    obs = np.zeros((4, 1), np.float32)
    loss = agent.compute_loss(obs, np.array([0, 1, 0, 1]), np.array([0.0, 1.0, 0.0, 1.0]))
    loss.backward()
    g = policy.logits.grad.numpy()
    # ∇ log π(a) = onehot(a) − π and Â = G − mean G = ∓½, so −∇L = ¼ Σ Â (onehot(a) − π) = (−¼, ¼)
    np.testing.assert_allclose(-g, [-0.25, 0.25], atol=1e-6)
    agent.learn(300)
    p = np.exp(policy.logits.numpy()) / np.exp(policy.logits.numpy()).sum()
    assert p[1] > 0.9


def test_ppo_clipped_loss_equals_a_hand_computed_case():
    ratio = np.array([1.5, 0.5, 1.1, 0.7])
    adv = np.array([1.0, -1.0, 2.0, 3.0])
    logp = sd.tensor(np.log(ratio), requires_grad=True)
    loss = rl.ppo_clip_loss(logp, np.zeros(4), adv, clip_range=0.2)
    # min(1.5·1, 1.2·1) = 1.2; min(0.5·−1, 0.8·−1) = −0.8; min(2.2, 2.2) = 2.2; min(0.7·3, 0.8·3) = 2.1
    assert float(loss.item()) == pytest.approx(-(1.2 - 0.8 + 2.2 + 2.1) / 4)
    loss.backward()
    # the clipped terms pass no gradient; the others pass −r Â / n
    np.testing.assert_allclose(logp.grad.numpy(), [0.0, 0.0, -1.1 * 2.0 / 4, -0.7 * 3.0 / 4], rtol=1e-6)
    lp = sd.tensor(np.log([1.1, 0.9, 1.05]), dtype=sd.float64, requires_grad=True)
    assert sd.gradcheck(lambda t: rl.ppo_clip_loss(t, np.zeros(3), np.array([1.0, -2.0, 0.5]), 0.2), lp)


def test_a2c_and_ppo_run_on_vector_envs_and_log_episodes():
    for cls, kw in ((rl.A2C, {}), (rl.PPO, {"n_steps": 64, "n_epochs": 2})):
        agent = cls("MlpPolicy", "CartPole-v1", n_envs=2, seed=0, **kw).learn(600)
        assert agent.num_timesteps >= 600
        assert agent.env.num_envs == 2
        h = agent.history.history
        assert len(h["episode_return"]) > 5 and "loss" in h


def test_ppo_continuous_actions_predict_in_bounds():
    agent = rl.PPO("MlpPolicy", "Pendulum-v1", n_envs=1, n_steps=64, n_epochs=1, seed=0).learn(64)
    obs = np.zeros(3, np.float32)
    action, state = agent.predict(obs)
    assert action.shape == (1,) and state is None
    batch, _ = agent.predict(np.zeros((5, 3), np.float32), deterministic=True)
    assert batch.shape == (5, 1) and np.all(np.abs(batch) <= 2.0)


def test_vector_env_that_resets_next_step_is_refused():
    gym = _gym()
    mode = getattr(gym.vector, "AutoresetMode", None)
    if mode is None:
        pytest.skip("gymnasium < 1.1 has one autoreset mode")
    venv = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")], autoreset_mode=mode.NEXT_STEP)
    with pytest.raises(ValueError, match="SAME_STEP"):
        rl.PPO("MlpPolicy", venv)


# ---- the SB3 shape

def test_predict_shapes_for_single_and_batched_observations():
    agent = rl.DQN("MlpPolicy", "CartPole-v1", seed=0)
    action, state = agent.predict(np.zeros(4, np.float32), deterministic=True)
    assert np.asarray(action).shape == () and state is None
    actions, _ = agent.predict(np.zeros((7, 4), np.float32), deterministic=True)
    assert actions.shape == (7,) and actions.dtype.kind == "i"
    q = rl.QLearning(one_step_env(discrete_obs=True))
    assert np.asarray(q.predict(0)[0]).shape == () and q.predict(np.array([0, 0, 0]))[0].shape == (3,)


class AlwaysLeft:
    def predict(self, obs, deterministic=True):
        return 0, None


def test_evaluate_policy_returns_mean_and_std_of_episode_returns():
    returns, lengths = rl.evaluate_policy(AlwaysLeft(), "CartPole-v1", n_eval_episodes=4, seed=3,
                                          return_episode_rewards=True)
    assert len(returns) == 4 and returns == [float(n) for n in lengths]  # reward 1 per step
    mean, std = rl.evaluate_policy(AlwaysLeft(), "CartPole-v1", n_eval_episodes=4, seed=3)
    assert mean == pytest.approx(np.mean(returns)) and std == pytest.approx(np.std(returns))
    with pytest.raises(AssertionError):
        rl.evaluate_policy(AlwaysLeft(), "CartPole-v1", n_eval_episodes=2, reward_threshold=400)


@pytest.mark.parametrize("make", [
    lambda: rl.DQN("MlpPolicy", "CartPole-v1", learning_starts=50, train_freq=4, gradient_steps=1,
                   exploration_fraction=0.3, seed=1).learn(300),
    lambda: rl.PPO("MlpPolicy", "CartPole-v1", n_envs=2, n_steps=32, n_epochs=1, learning_rate=rl.linear_schedule(
        1e-3, 0.0), seed=1).learn(64),
    lambda: rl.A2C("MlpPolicy", "CartPole-v1", n_envs=2, seed=1).learn(40),
    lambda: rl.REINFORCE("MlpPolicy", "CartPole-v1", seed=1).learn(100),
    lambda: rl.QLearning("FrozenLake-v1", seed=1).learn(300),
])
def test_save_load_round_trip(tmp_path, make):
    agent = make()
    path = tmp_path / "agent.safetensors"
    agent.save(path)
    assert path.read_bytes()[8:9] == b"{"  # a safetensors file: JSON header, no pickle
    cls = type(agent)
    loaded = cls.load(path)
    assert loaded.num_timesteps == agent.num_timesteps
    for a, b in zip(agent.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded._hyperparameters().keys() == agent._hyperparameters().keys()
    if agent.observation_space.kind == "box":
        obs = np.random.default_rng(0).standard_normal((6, *agent.observation_space.shape)).astype(np.float32)
    else:
        obs = np.arange(6) % agent.observation_space.n
    np.testing.assert_array_equal(agent.predict(obs, deterministic=True)[0],
                                  loaded.predict(obs, deterministic=True)[0])
    again = rl.BaseAgent.load(path, env=agent.env)  # the file names its algorithm
    assert type(again) is cls and again.env is not None
    again.learn(8)
    other = rl.DQN if cls is not rl.DQN else rl.PPO
    with pytest.raises(ValueError, match=cls.__name__):
        other.load(path)


def test_custom_module_policy_and_its_round_trip(tmp_path):
    q_net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
    agent = rl.DQN(q_net, "CartPole-v1", learning_starts=20, train_freq=4, gradient_steps=1, seed=0).learn(100)
    assert agent.q_net is q_net and agent.policy_name == "custom"
    agent.save(tmp_path / "q.safetensors")
    loaded = rl.DQN.load(tmp_path / "q.safetensors", env="CartPole-v1")
    x = np.ones((3, 4), np.float32)
    np.testing.assert_allclose(loaded.q_values(x), agent.q_values(x))


def test_learn_reports_through_shendu_callbacks_and_progress_bar():
    stream = io.StringIO()
    bar = rl.RLProgbar(stream=stream, dynamic=False)
    seen = []
    stop = EarlyStopping(monitor="episode_return", mode="max", patience=1000, baseline=1e9)
    cb = [bar, stop, LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))]
    agent = rl.PPO("MlpPolicy", "CartPole-v1", n_envs=1, n_steps=128, n_epochs=1, seed=0)
    agent.learn(256, callback=cb)
    assert seen == list(range(len(agent.history.history["episode_return"])))
    text = stream.getvalue()
    assert "256/256" in text and "return_mean" in text

    def halt(step, logs):
        if step >= 50:
            agent.stop_training = True
    agent = rl.DQN("MlpPolicy", "CartPole-v1", seed=0)
    agent.learn(10_000, callback=LambdaCallback(on_train_batch_end=halt))
    assert agent.num_timesteps == 50
    # a plain function, as Stable-Baselines3 takes one: returning False stops
    agent.learn(10_000, callback=lambda locals_, globals_: locals_["num_timesteps"] < 30)
    assert agent.num_timesteps == 30


def test_learning_is_reproducible_for_a_seed():
    runs = [rl.PPO("MlpPolicy", "CartPole-v1", n_envs=2, n_steps=32, n_epochs=1, seed=7).learn(64).get_weights()
            for _ in range(2)]
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_errors_name_the_agent_and_what_was_expected():
    with pytest.raises(ValueError, match="DQN: unknown policy 'CnnPolicy'"):
        rl.DQN("CnnPolicy", "CartPole-v1")
    with pytest.raises(TypeError, match="Discrete action space"):
        rl.DQN("MlpPolicy", "Pendulum-v1")
    with pytest.raises(TypeError, match="QLearning: needs Discrete"):
        rl.QLearning("CartPole-v1")
    with pytest.raises(ValueError, match="no environment"):
        rl.DQN("MlpPolicy", None, observation_space=rl.DQN("MlpPolicy", "CartPole-v1").observation_space,
               action_space=rl.DQN("MlpPolicy", "CartPole-v1").action_space).learn(10)


def test_examples_run_short():
    import importlib.util
    import os

    root = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "examples")

    def load(name):
        spec = importlib.util.spec_from_file_location(name, os.path.join(root, f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    _gym()
    assert load("rl_frozenlake_qlearning").main(steps=6000) == 1.0
    assert load("rl_cartpole_dqn").main(steps=300, eval_episodes=2, progress_bar=False) > 0
    assert load("rl_cartpole_ppo").main(steps=256, eval_episodes=2, progress_bar=False) > 0
