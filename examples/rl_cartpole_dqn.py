"""DQN on CartPole-v1 (Stable-Baselines3's shape, shendu's networks).

    python examples/rl_cartpole_dqn.py                 # a short run (5k steps, about half a minute)
    python examples/rl_cartpole_dqn.py --steps 50000   # the full run: a mean return of 500
"""
import argparse
import os
import tempfile

import shendu.rl as rl


def main(steps=5000, seed=0, eval_episodes=10, progress_bar=True):
    agent = rl.DQN("MlpPolicy", "CartPole-v1", seed=seed, verbose=1)
    agent.learn(total_timesteps=steps, progress_bar=progress_bar)
    path = os.path.join(tempfile.mkdtemp(), "dqn_cartpole.safetensors")
    agent.save(path)
    agent = rl.DQN.load(path)
    mean, std = rl.evaluate_policy(agent, "CartPole-v1", n_eval_episodes=eval_episodes, seed=seed)
    print(f"DQN CartPole-v1 after {steps} steps: mean return {mean:.1f} ± {std:.1f}")
    return mean


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-episodes", type=int, default=10)
    args = parser.parse_args()
    main(args.steps, args.seed, args.eval_episodes)
