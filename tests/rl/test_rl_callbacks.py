"""shendu.rl.EvalCallback and the stopping callbacks: evaluations at their frequency, the best policy kept."""
import numpy as np
import pytest

import shendu.rl as rl
from conftest import require


def _gym():
    return require("gymnasium")


def small_dqn(**kw):
    _gym()
    hyper = dict(learning_starts=50, train_freq=4, gradient_steps=1, exploration_fraction=0.3,
                 learning_rate=1e-2, seed=0)
    hyper.update(kw)
    return rl.DQN("MlpPolicy", "CartPole-v1", **hyper)


class Snapshots(rl.callbacks._EvalChild):
    """After every evaluation: the agent's weights at that moment, by timestep."""

    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_eval(self, parent):
        self.weights[self.model.num_timesteps] = self.model.get_weights()


def test_eval_callback_evaluates_every_eval_freq_steps_and_keeps_the_best(tmp_path):
    snaps = Snapshots()
    cb = rl.EvalCallback("CartPole-v1", n_eval_episodes=2, eval_freq=100, best_model_save_path=tmp_path / "best",
                         log_path=tmp_path / "logs", callback_after_eval=snaps, verbose=0, seed=5)
    agent = small_dqn().learn(600, callback=cb)
    assert cb.evaluations_timesteps == [100, 200, 300, 400, 500, 600] and cb.n_evaluations == 6
    assert all(len(r) == 2 for r in cb.evaluations_results)
    means = [np.mean(r) for r in cb.evaluations_results]
    assert cb.last_mean_reward == means[-1] and cb.best_mean_reward == max(means)
    assert cb.best_timestep == cb.evaluations_timesteps[int(np.argmax(means))]  # the first of the best
    for a, b in zip(cb.best_weights, snaps.weights[cb.best_timestep]):
        np.testing.assert_array_equal(a, b)
    # the best agent, from memory and from its file, acts as the agent did at best_timestep
    obs = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    best_mem = cb.best_agent
    best_file = rl.DQN.load(tmp_path / "best" / "best_model.safetensors", env="CartPole-v1")
    assert isinstance(best_mem, rl.DQN) and best_mem is not agent
    for other in (best_mem, best_file):
        for a, b in zip(other.get_weights(), cb.best_weights):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(best_mem.predict(obs, deterministic=True)[0],
                                  best_file.predict(obs, deterministic=True)[0])
    # its evaluations file, as Stable-Baselines3 writes it
    logs = np.load(tmp_path / "logs" / "evaluations.npz")
    np.testing.assert_array_equal(logs["timesteps"], cb.evaluations_timesteps)
    np.testing.assert_array_equal(logs["results"], cb.evaluations_results)
    assert logs["ep_lengths"].shape == (6, 2)
    # restore_best puts the best weights back into the trained agent
    cb.restore_best()
    for a, b in zip(agent.get_weights(), cb.best_weights):
        np.testing.assert_array_equal(a, b)


def test_eval_callback_is_reproducible_and_leaves_training_unchanged():
    plain = small_dqn().learn(300).get_weights()
    runs = []
    for _ in range(2):
        cb = rl.EvalCallback("CartPole-v1", n_eval_episodes=2, eval_freq=75, verbose=0, seed=1)
        runs.append((small_dqn().learn(300, callback=cb).get_weights(), cb.evaluations_results))
    assert runs[0][1] == runs[1][1]
    for a, b, c in zip(runs[0][0], runs[1][0], plain):  # deterministic evaluation draws nothing from training
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_eval_freq_counts_environment_steps_with_vector_envs():
    _gym()
    cb = rl.EvalCallback("CartPole-v1", n_eval_episodes=1, eval_freq=40, verbose=0)
    agent = rl.PPO("MlpPolicy", "CartPole-v1", n_envs=2, n_steps=16, n_epochs=1, seed=0)
    agent.learn(128, callback=cb)
    assert cb.evaluations_timesteps == [40, 80, 120]
    agent.learn(64, callback=cb, reset_num_timesteps=False)  # goes on counting from 128
    assert cb.evaluations_timesteps == [40, 80, 120, 160]
    assert isinstance(cb.best_agent, rl.PPO)


def test_stop_training_on_reward_threshold():
    stop = rl.StopTrainingOnRewardThreshold(reward_threshold=1.0)
    cb = rl.EvalCallback("CartPole-v1", n_eval_episodes=1, eval_freq=100, callback_on_new_best=stop, verbose=0)
    agent = small_dqn().learn(1000, callback=cb)
    assert agent.num_timesteps == 100 and cb.n_evaluations == 1  # every CartPole episode scores >= 1
    stop = rl.StopTrainingOnRewardThreshold(reward_threshold=1e9)
    cb = rl.EvalCallback("CartPole-v1", n_eval_episodes=1, eval_freq=100, callback_on_new_best=stop, verbose=0)
    agent = small_dqn().learn(300, callback=cb)
    assert agent.num_timesteps == 300 and cb.n_evaluations == 3
    with pytest.raises(ValueError, match="StopTrainingOnRewardThreshold.*EvalCallback"):
        small_dqn().learn(100, callback=rl.StopTrainingOnRewardThreshold(1.0))


def test_stop_training_on_no_model_improvement():
    from test_rl import one_step_env

    env = one_step_env()  # every episode returns 1: the first evaluation is the best there will be
    stop = rl.StopTrainingOnNoModelImprovement(max_no_improvement_evals=2, min_evals=1)
    cb = rl.EvalCallback(one_step_env(), n_eval_episodes=1, eval_freq=10, callback_after_eval=stop, verbose=0)
    agent = rl.DQN("MlpPolicy", env, learning_starts=5, train_freq=1, gradient_steps=1, seed=0)
    agent.learn(1000, callback=cb)
    # evaluation 1 is not counted (min_evals=1); 2, 3, 4 bring nothing new; the 3rd in a row stops
    assert cb.n_evaluations == 4 and agent.num_timesteps == 40


def test_eval_callback_errors_name_what_was_expected():
    gym = _gym()
    with pytest.raises(ValueError, match="EvalCallback: eval_freq"):
        rl.EvalCallback("CartPole-v1", eval_freq=0)
    with pytest.raises(ValueError, match="n_eval_episodes"):
        rl.EvalCallback("CartPole-v1", n_eval_episodes=0)
    with pytest.raises(TypeError, match="EvalCallback: eval_env"):
        rl.EvalCallback(gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")]))
    cb = rl.EvalCallback("CartPole-v1", verbose=0)
    assert cb.best_agent is None
    cb.set_model(small_dqn())
    with pytest.raises(RuntimeError, match="no evaluation"):
        cb.restore_best()
