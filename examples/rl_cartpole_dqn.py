"""DQN on CartPole-v1 (Stable-Baselines3's shape, shendu's networks), keeping the best policy seen.

    python examples/rl_cartpole_dqn.py                  # a short run (5k steps, a few seconds)
    python examples/rl_cartpole_dqn.py --steps 100000   # the full run: the best checkpoint scores ~500

An rl.EvalCallback scores the policy on 5 episodes every --eval-freq steps and keeps the best one
(a DQN's last policy is not always its best); both are then scored on fresh episodes.
"""
import argparse
import os
import tempfile

import shendu.rl as rl


def main(steps=5000, seed=0, eval_episodes=10, eval_freq=2500, progress_bar=True):
    folder = tempfile.mkdtemp()
    keep_best = rl.EvalCallback("CartPole-v1", n_eval_episodes=5, eval_freq=eval_freq,
                                best_model_save_path=folder, seed=10_000 + seed,
                                callback_on_new_best=rl.StopTrainingOnRewardThreshold(500), verbose=1)
    agent = rl.DQN("MlpPolicy", "CartPole-v1", seed=seed, verbose=1)
    agent.learn(total_timesteps=steps, callback=keep_best, progress_bar=progress_bar)
    mean, std = rl.evaluate_policy(agent, "CartPole-v1", n_eval_episodes=eval_episodes, seed=seed)
    print(f"DQN CartPole-v1, last policy at {agent.num_timesteps} steps: mean return {mean:.1f} ± {std:.1f}")
    path = os.path.join(folder, "best_model.safetensors")
    if os.path.exists(path):
        best = rl.DQN.load(path)
        mean, std = rl.evaluate_policy(best, "CartPole-v1", n_eval_episodes=eval_episodes, seed=seed)
        print(f"best checkpoint (at {keep_best.best_timestep} steps): mean return {mean:.1f} ± {std:.1f}")
    return mean


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--eval-freq", type=int, default=2500)
    args = parser.parse_args()
    main(args.steps, args.seed, args.eval_episodes, args.eval_freq)
