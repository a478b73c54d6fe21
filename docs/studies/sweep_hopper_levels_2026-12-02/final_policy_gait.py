"""Ad-hoc: what the final IQL / BC policies of the Hopper-levels sweep do (episode length,
return, mean forward velocity), deterministic tanh mean, 10 episodes, seeds 0..9."""
import glob, os, sys, json
import numpy as np, gymnasium as gym, mindspore as ms

def policy(path):
    d = {k: v.asnumpy() for k, v in ms.load_checkpoint(path).items()}
    def act(o):
        x = (o - d["obs_norm_mean"]) / d["obs_norm_std"]
        for i in range(2):
            x = np.maximum(x @ d[f"trunk.layers.{i}.weight"].T + d[f"trunk.layers.{i}.bias"], 0)
        return np.tanh(x @ d["mean_head.weight"].T + d["mean_head.bias"])
    return act

out = {}
root = sys.argv[1]
for run in sorted(glob.glob(f"{root}/*/*/seed*")):
    ck = sorted(glob.glob(f"{run}/ckpt/policy/policy_*.ckpt"), key=lambda p: int(p.split("_")[-1][:-5]))[-1]
    act, env = policy(ck), gym.make("Hopper-v5")
    rows = []
    for s in range(10):
        o, _ = env.reset(seed=s); ret, n, vel = 0.0, 0, []
        while True:
            o, r, term, trunc, info = env.step(act(o)); ret += r; n += 1; vel.append(info["x_velocity"])
            if term or trunc: break
        rows.append((n, ret, float(np.mean(vel))))
    a = np.array(rows)
    key = os.path.relpath(run, root)
    out[key] = {"len": a[:, 0].mean(), "ret": a[:, 1].mean(), "vel": a[:, 2].mean(), "falls": int((a[:, 0] < 1000).sum())}
    print(key, {k: round(v, 2) for k, v in out[key].items()}, flush=True)
json.dump(out, open(sys.argv[2], "w"), indent=1)
