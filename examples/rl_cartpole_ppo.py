"""PPO on CartPole-v1 with 4 vectorised environments (gymnasium.vector).

    python examples/rl_cartpole_ppo.py                  # a short run (8k steps)
    python examples/rl_cartpole_ppo.py --steps 100000   # the full run: a mean return of 500
"""
import argparse

import shendu.rl as rl


def main(steps=8192, seed=0, eval_episodes=10, progress_bar=True):
    agent = rl.PPO("MlpPolicy", "CartPole-v1", n_envs=4, seed=seed)
    agent.learn(total_timesteps=steps, progress_bar=progress_bar)
    mean, std = rl.evaluate_policy(agent, "CartPole-v1", n_eval_episodes=eval_episodes, seed=seed)
    print(f"PPO CartPole-v1 after {agent.num_timesteps} steps: mean return {mean:.1f} ± {std:.1f}")
    return mean


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8192)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-episodes", type=int, default=10)
    args = parser.parse_args()
    main(args.steps, args.seed, args.eval_episodes)
