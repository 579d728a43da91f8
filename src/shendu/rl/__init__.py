"""shendu.rl: reinforcement learning with Stable-Baselines3's shape, on shendu's networks.

    import shendu.rl as rl
    agent = rl.DQN("MlpPolicy", "CartPole-v1", seed=0).learn(100_000, progress_bar=True)
    mean, std = rl.evaluate_policy(agent, "CartPole-v1", n_eval_episodes=10)
    action, _ = agent.predict(obs, deterministic=True)
    agent.save("dqn.safetensors"); agent = rl.DQN.load("dqn.safetensors", env="CartPole-v1")

Agents: tabular :class:`QLearning` and :class:`SARSA`; :class:`DQN` (replay buffer, target network,
double DQN, linear ε, Huber loss, gradient clipping); :class:`REINFORCE` with a baseline; :class:`A2C`;
:class:`PPO` (clipped objective, GAE, optional value clipping, ``gymnasium.vector`` environments).
:class:`EvalCallback` evaluates during ``learn`` and keeps the best policy;
:class:`StopTrainingOnRewardThreshold` stops once it is good enough.
Environments come from gymnasium (``pip install 'shendu[rl]'``), imported only when an agent needs one.
"""
from .callbacks import EvalCallback, StopTrainingOnNoModelImprovement, StopTrainingOnRewardThreshold
from .common import BaseAgent, FunctionCallback, RLProgbar, evaluate_policy, linear_schedule, mlp
from .dqn import DQN, ReplayBuffer
from .policy_gradient import (
           A2C,
           PPO,
           REINFORCE,
           ActorCriticPolicy,
           compute_gae,
           discounted_returns,
           ppo_clip_loss,
)
from .tabular import SARSA, QLearning, td_target

__all__ = ["BaseAgent", "QLearning", "SARSA", "DQN", "REINFORCE", "A2C", "PPO", "ActorCriticPolicy",
           "ReplayBuffer", "evaluate_policy", "linear_schedule", "mlp", "compute_gae", "discounted_returns",
           "ppo_clip_loss", "td_target", "RLProgbar", "FunctionCallback",
           "EvalCallback", "StopTrainingOnRewardThreshold", "StopTrainingOnNoModelImprovement"]
