"""Tabular Q-learning on FrozenLake: the Bellman update Q(s,a) += α [r + γ max Q(s',·) − Q(s,a)].

    python examples/rl_frozenlake_qlearning.py                         # 4x4, not slippery: solved
    python examples/rl_frozenlake_qlearning.py --map 8x8 --slippery --steps 3000000
"""
import argparse

import gymnasium as gym
import numpy as np

import shendu.rl as rl

ARROWS = np.array(list("←↓→↑"))


def main(map_name="4x4", slippery=False, steps=10_000, seed=0, eval_episodes=100):
    env = gym.make("FrozenLake-v1", map_name=map_name, is_slippery=slippery)
    lr = rl.linear_schedule(0.2, 0.01) if slippery else 0.5
    agent = rl.QLearning("TabularPolicy", env, learning_rate=lr, gamma=0.99 if slippery else 0.95,
                         exploration_fraction=0.5, seed=seed)
    agent.learn(total_timesteps=steps)
    mean, _ = rl.evaluate_policy(agent, env, n_eval_episodes=eval_episodes, seed=seed)
    side = int(np.sqrt(agent.q_table.shape[0]))
    print("greedy policy:")
    print("\n".join(" ".join(row) for row in ARROWS[agent.q_table.argmax(1)].reshape(side, side)))
    print(f"FrozenLake {map_name} {'slippery' if slippery else 'deterministic'}: success rate {mean:.2f}")
    return mean


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default="4x4", choices=["4x4", "8x8"])
    parser.add_argument("--slippery", action="store_true")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.map, args.slippery, args.steps, args.seed)
