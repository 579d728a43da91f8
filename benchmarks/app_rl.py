"""Reinforcement-learning figures for shendu.rl (not a test).

Targets (mean return over 100 evaluation episodes, deterministic policy, 3 seeds):
    CartPole-v1  DQN ≥ 475 within 100k environment steps, PPO ≥ 475 within 200k,
                 REINFORCE with a value baseline reaches a running return of 475
    FrozenLake8x8-v1 (slippery, 200 steps), Q-learning: success rate ≥ 0.7
    Taxi-v3, Q-learning: solved (the mean return of the optimal policy on the same episodes, or ≥ 8)

    python benchmarks/app_rl.py                          # everything, seeds 0 1 2, appends to RESULTS.md
    python benchmarks/app_rl.py --only dqn ppo --seeds 0 --no-write
    python benchmarks/app_rl.py --only dqn --dqn-net-arch 64 64 --dqn-lr 2.3e-3   # another DQN

DQN also reports the best checkpoint an rl.EvalCallback kept (5 episodes every 5k steps), scored on the
same 100 evaluation episodes as the final policy.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")          # small matrices: one BLAS thread is fastest
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import datetime
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src"))

import gymnasium as gym

import shendu.rl as rl
from shendu.train import LambdaCallback

HERE = os.path.dirname(os.path.abspath(__file__))


NET_ARCH = {}  # --dqn-net-arch: policy_kwargs for DQN (empty: its defaults)
DQN_KW = {}    # --dqn-lr: a constant learning rate


def run_dqn(seed, steps):
    """The final policy, and the best one an EvalCallback saw (5 episodes every 5k steps); both are then
    scored on the same 100 evaluation episodes."""
    cb = rl.EvalCallback("CartPole-v1", n_eval_episodes=5, eval_freq=5_000, verbose=0, seed=10_000 + seed)
    agent = rl.DQN("MlpPolicy", "CartPole-v1", seed=seed, policy_kwargs=NET_ARCH or None, **DQN_KW)
    agent.learn(steps, callback=cb)
    curve = " ".join(f"{np.mean(r):.0f}" for r in cb.evaluations_results)
    return agent, "CartPole-v1", {"steps": agent.num_timesteps, "best_agent": cb.best_agent,
                                  "best_at": cb.best_timestep, "eval_curve": curve,
                                  "net_arch": [m.weight.shape[0] for m in list(agent.q_net)[:-1]
                                               if hasattr(m, "weight")]}


def run_ppo(seed, steps):
    agent = rl.PPO("MlpPolicy", "CartPole-v1", seed=seed).learn(steps)
    return agent, "CartPole-v1", {"steps": agent.num_timesteps}


def run_reinforce(seed, steps):
    reached = {}

    def check(episode, logs):
        if logs["running_return"] >= 475 and "episode" not in reached:
            reached.update(episode=episode + 1, steps=logs["timesteps"])
            agent.stop_training = True

    agent = rl.REINFORCE("MlpPolicy", "CartPole-v1", seed=seed)
    agent.learn(steps, callback=LambdaCallback(on_epoch_end=check))
    best = round(max(agent.history.history["running_return"]), 1)
    return agent, "CartPole-v1", {"steps": agent.num_timesteps, "best_running_return": best,
                                  "running_475_at_episode": reached.get("episode")}


def run_frozenlake(seed, steps):
    env = gym.make("FrozenLake8x8-v1", is_slippery=True)  # the 8x8 lake with its 200-step limit
    agent = rl.QLearning(env, learning_rate=rl.linear_schedule(0.1, 0.01), gamma=0.99,
                         exploration_fraction=0.1, exploration_final_eps=0.1, seed=seed).learn(steps)
    return agent, env, {"steps": agent.num_timesteps}


def taxi_id():
    """Taxi-v3 where gymnasium still registers it; Taxi-v4 (the same task) in gymnasium >= 1.3."""
    return "Taxi-v3" if "Taxi-v3" in gym.registry else "Taxi-v4"


class OptimalTaxi:
    """The optimal policy, by value iteration on Taxi's known deterministic model: 'solved' means this."""

    def __init__(self, env, gamma=0.99):
        model = env.unwrapped.P
        q = np.zeros((len(model), len(model[0])))
        for _ in range(1000):
            v = q.max(1)
            new = np.array([[sum(p * (r + gamma * (not d) * v[s2]) for p, s2, r, d in model[s][a])
                             for a in range(q.shape[1])] for s in range(q.shape[0])])
            if np.abs(new - q).max() < 1e-9:
                break
            q = new
        self.q = q

    def predict(self, obs, deterministic=True):
        return int(np.argmax(self.q[int(obs)])), None


def run_taxi(seed, steps):
    agent = rl.QLearning(taxi_id(), learning_rate=0.5, gamma=0.99, exploration_fraction=0.5,
                         exploration_final_eps=0.01, seed=seed).learn(steps)
    return agent, taxi_id(), {"steps": agent.num_timesteps, "env": taxi_id()}


CASES = {  # name: (function, default steps, target, what the target means)
    "dqn": (run_dqn, 100_000, 475.0, "CartPole-v1 DQN, mean return ≥ 475 within 100k steps"),
    "ppo": (run_ppo, 100_000, 475.0, "CartPole-v1 PPO, mean return ≥ 475 within 200k steps"),
    "reinforce": (run_reinforce, 300_000, None, "CartPole-v1 REINFORCE + value baseline, running return 475"),
    "frozenlake": (run_frozenlake, 2_000_000, 0.7, "FrozenLake8x8-v1 slippery Q-learning, success ≥ 0.7"),
    "taxi": (run_taxi, 200_000, 8.0, "Taxi Q-learning, solved: the optimal mean on the same episodes or ≥ 8"),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--steps", type=int, default=None, help="override every case's step budget")
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to RESULTS.md")
    parser.add_argument("--dqn-net-arch", nargs="*", type=int, default=None,
                        help="DQN hidden widths (default: DQN's own default)")
    parser.add_argument("--dqn-lr", type=float, default=None,
                        help="a constant DQN learning rate (default: DQN's, 2.3e-3 falling linearly to 0)")
    args = parser.parse_args(argv)
    if args.dqn_lr is not None:
        DQN_KW["learning_rate"] = args.dqn_lr
    if args.dqn_net_arch:
        NET_ARCH["net_arch"] = tuple(args.dqn_net_arch)
    rows = []
    for name in args.only:
        fn, default_steps, target, what = CASES[name]
        for seed in args.seeds:
            t0 = time.perf_counter()
            agent, env, info = fn(seed, args.steps or default_steps)
            train_s = time.perf_counter() - t0
            mean, std = rl.evaluate_policy(agent, env, n_eval_episodes=args.eval_episodes, seed=1000 + seed)
            best_agent = info.pop("best_agent", None)
            if best_agent is not None:
                b_mean, b_std = rl.evaluate_policy(best_agent, env, n_eval_episodes=args.eval_episodes,
                                                   seed=1000 + seed)
                info.update(best_mean=round(b_mean, 2), best_std=round(b_std, 2),
                            best_met=bool(b_mean >= target))
            wall = time.perf_counter() - t0
            if name == "reinforce":
                met = info["running_475_at_episode"] is not None
            elif name == "taxi":
                best, _ = rl.evaluate_policy(OptimalTaxi(gym.make(env)), env,
                                             n_eval_episodes=args.eval_episodes, seed=1000 + seed)
                info["optimal_mean"] = round(best, 2)
                met = mean >= min(best, target) - 1e-9
            else:
                met = mean >= target
            row = dict(case=name, seed=seed, mean=mean, std=std, met=met, train_s=train_s, wall_s=wall,
                       **info)
            rows.append(row)
            print(f"{what} | seed {seed}: mean {mean:.2f} ± {std:.2f} over {args.eval_episodes} episodes, "
                  f"{info} | {'met' if met else 'MISSED'} | train {train_s:.0f}s, wall {wall:.0f}s",
                  flush=True)
    if not args.no_write:
        write(rows, args)
    return rows


def write(rows, args):
    cmd = "python benchmarks/app_rl.py " + " ".join(
        (["--only", *args.only] if args.only != list(CASES) else []) +
        (["--seeds", *map(str, args.seeds)] if args.seeds != [0, 1, 2] else []) +
        (["--steps", str(args.steps)] if args.steps else []) +
        (["--dqn-net-arch", *map(str, args.dqn_net_arch)] if args.dqn_net_arch else []) +
        (["--dqn-lr", str(args.dqn_lr)] if args.dqn_lr is not None else []))
    lines = [f"\n### shendu.rl ({datetime.date.today()}; {platform.machine()}, {os.cpu_count()} cores "
             f"shared, numpy {np.__version__}, gymnasium {gym.__version__}, 1 BLAS thread)\n",
             f"Command: `{cmd.strip()}`; evaluation: {args.eval_episodes} deterministic episodes, "
             "evaluation seed 1000 + training seed.\n",
             "| case | seed | env steps | mean ± std | target | met | train s | wall s | notes |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        target = CASES[r["case"]][3].split(", ", 1)[1]
        notes = ""
        if r["case"] == "taxi":
            notes = f"{r['env']}; the optimal policy scores {r['optimal_mean']:.2f} on the same episodes"
        if r["case"] == "dqn":
            notes = (f"net {r['net_arch']}; best checkpoint (at {r['best_at']} steps): "
                     f"{r['best_mean']:.2f} ± {r['best_std']:.2f}, {'met' if r['best_met'] else 'missed'}; "
                     f"5-episode evaluations every 5k: {r['eval_curve']}")
        if r["case"] == "reinforce":
            notes = (f"running return ≥ 475 at episode {r['running_475_at_episode']}"
                     if r["running_475_at_episode"] else f"best running return {r['best_running_return']}")
        lines.append(f"| {r['case']} | {r['seed']} | {r['steps']} | {r['mean']:.2f} ± {r['std']:.2f} | "
                     f"{target} | {'yes' if r['met'] else 'no'} | {r['train_s']:.0f} | {r['wall_s']:.0f} | "
                     f"{notes} |")
    with open(os.path.join(HERE, "RESULTS.md"), "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
