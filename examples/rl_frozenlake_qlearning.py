"""Tabular Q-learning on FrozenLake: the Bellman update Q(s,a) += α [r + γ max Q(s',·) − Q(s,a)].

    python examples/rl_frozenlake_qlearning.py                         # 4x4, not slippery: solved
    python examples/rl_frozenlake_qlearning.py --map 8x8 --slippery --steps 2000000
"""
import argparse

import gymnasium as gym
import numpy as np

import shendu.rl as rl

ARROWS = np.array(list("←↓→↑"))


def main(map_name="4x4", slippery=False, steps=10_000, seed=0, eval_episodes=100):
    # FrozenLake8x8-v1 is the 8x8 lake with a 200-step limit (FrozenLake-v1 cuts every map at 100)
    env = gym.make("FrozenLake8x8-v1" if map_name == "8x8" else "FrozenLake-v1", is_slippery=slippery)
    if slippery:  # off-policy: keep exploring (ε = 0.1) while the step size falls
        hyper = dict(learning_rate=rl.linear_schedule(0.1, 0.01), gamma=0.99, exploration_fraction=0.1,
                     exploration_final_eps=0.1)
    else:
        hyper = dict(learning_rate=0.5, gamma=0.95, exploration_fraction=0.5)
    agent = rl.QLearning("TabularPolicy", env, seed=seed, **hyper)
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
