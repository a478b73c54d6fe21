"""IQL update throughput: ours (MindSpore GRAPH_MODE, in-graph loop) vs d3rlpy 2.8.1 vs a
minimal JAX/Flax jit IQL, on the same synthetic Walker2d-shaped data. Prints one JSON object.

    python benchmarks/iql_throughput.py                      # 5 alternating rounds, ~15-25 min
    python benchmarks/iql_throughput.py --rounds 3 --chunk 500
    python benchmarks/iql_throughput.py --frameworks ours     # ours only (no bench venv needed)

Each framework runs in its own worker process, set up (and compiled) once; then every
round asks each worker in turn for one measurement (the order flips every round), so the
frameworks take turns every few seconds and machine noise from other jobs hits all of them.
The report gives per-round ratios and their median as well as median times.

Identical work in each framework: obs 17, act 6, batch 256, 2x256 ReLU MLPs for V, the two
critics (+ two targets) and the Gaussian policy (tanh mean, state-independent log-std),
Adam 3e-4, gamma 0.99, Polyak 0.005, expectile 0.7, beta 3, exp-advantage clip 100; each
update samples its batch from the 100k-transition dataset (uniform indices).
* ours: one measurement = learner.learn(1000): n_steps_per_episode updates in one compiled
  call, batches gathered on the device, nn.Adam per parameter (the default); ``ours_fused``
  the same with ``fused_optimizer: true`` (one Adam kernel per network over flat buffers,
  flat Polyak); ``ours_1m`` the default on 1M transitions. Kernels per update of both are
  counted with MindSpore's profiler in a separate short process (``kernels_per_update``).
* d3rlpy: IQLConfig with those values (its IQL updates Q and V in one critic step, then
  the actor; same networks and FLOPs), one `algo.update(dataset.sample_transition_batch())`
  per step as its `fit` loop; measured with 1 torch thread and with torch's default, the
  headline ``d3rlpy`` being the faster (OpenMP's spinning threads collapse under load).
* JAX: ``jax_jit`` = one jitted update per call (the batch gathered inside the jit from
  device arrays by host-drawn indices); ``jax_scan`` = 1000 updates per call in
  ``lax.scan``, the analogue of our in-graph loop.

d3rlpy and JAX run with the python of a separate venv (torch/d3rlpy would change the
project's own environment): create it with `bash benchmarks/setup_bench_env.sh`, or point
--bench-python / $MSRL_EXT_BENCH_PYTHON at one; without it those entries are "skipped".

Also reported: the achieved FLOP/s of our update (matmul FLOPs of every forward and backward
pass, counted analytically) against a plain MindSpore matmul chain measured in the same
rounds, and the 1M/100k per-update time ratio.

    python benchmarks/iql_throughput.py --frameworks ours --rounds 1 --chunk 50 --no-size-check  # smoke
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np

OBS_DIM, ACT_DIM, HIDDEN, BATCH = 17, 6, (256, 256), 256
HP = dict(gamma=0.99, lr=3e-4, tau=0.005, expectile=0.7, temperature=3.0, exp_adv_max=100.0)
HERE = os.path.dirname(os.path.abspath(__file__))
RESULT_TAG = "BENCH_RESULT "
KERNEL_COUNT_STEPS = 10  # updates of the compile call of the kernel-counting worker
OURS = {"ours": False, "ours_fused": True}  # entry -> fused_optimizer


def synthetic_arrays(n, seed=0, episode_len=1000):
    """Walker2d-shaped random transitions (float32), identical in every framework."""
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((n, OBS_DIM), dtype=np.float32)
    next_obs = rng.standard_normal((n, OBS_DIM), dtype=np.float32)
    act = rng.uniform(-1, 1, (n, ACT_DIM)).astype(np.float32)
    rew = rng.uniform(0, 1, n).astype(np.float32)
    term = np.zeros(n, np.float32)
    timeouts = np.zeros(n, np.float32)
    timeouts[episode_len - 1::episode_len] = 1.0
    timeouts[-1] = 1.0
    return dict(observations=obs, actions=act, rewards=rew, next_observations=next_obs,
                terminals=term, timeouts=timeouts)


def dense_flops(dims, batch, first_needs_input_grad=False):
    """Matmul FLOPs (2 per multiply-add) of an MLP with layer sizes ``dims``:
    (forward, backward). Backward = weight grads of every layer + input grads of every
    layer but the first (its input is data)."""
    fwd = sum(2 * batch * a * b for a, b in zip(dims[:-1], dims[1:]))
    bwd_w = fwd
    bwd_x = sum(2 * batch * a * b for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]))
                if i > 0 or first_needs_input_grad)
    return fwd, bwd_w + bwd_x


def iql_update_flops(obs_dim=OBS_DIM, act_dim=ACT_DIM, hidden=HIDDEN, batch=BATCH):
    """Matmul FLOPs of one IQL update as the algorithm needs them (elementwise ops,
    Adam and Polyak ignored; they are < 1% of the total at these sizes)."""
    q_f, q_b = dense_flops([obs_dim + act_dim, *hidden, 1], batch)
    v_f, v_b = dense_flops([obs_dim, *hidden, 1], batch)
    p_f, p_b = dense_flops([obs_dim, *hidden, act_dim], batch)
    parts = {
        "target_q_forward_x2": 2 * q_f,
        "value_forward_backward": v_f + v_b,
        "value_new_forward_s_and_next_s": 2 * v_f,
        "actor_forward_backward": p_f + p_b,
        "critics_forward_backward_x2": 2 * (q_f + q_b),
    }
    return sum(parts.values()), parts


def emit(result):
    print(RESULT_TAG + json.dumps(result), flush=True)


def timed_calls(fn, n_calls):
    """Wall seconds of each of n_calls calls of fn()."""
    times = []
    for _ in range(n_calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


# --------------------------------------------------------------------------- ours
def build_ours(args):
    """(learner, info): our IQL learner on the synthetic data, compiled (first chunk run)."""
    sys.path.insert(0, os.path.dirname(HERE))
    from mindspore_rl_ext.core.device import init_mindspore

    init_mindspore("CPU", cpu_threads=args.threads)
    import mindspore as ms

    from mindspore_rl_ext.algorithms.iql import load_config
    from mindspore_rl_ext.algorithms.iql.config import algorithm_config
    from mindspore_rl_ext.core.session import build_components
    from mindspore_rl_ext.data.transitions import TransitionDataset

    a = synthetic_arrays(args.dataset_size)
    ends = np.flatnonzero(a["timeouts"]) + 1
    ds = TransitionDataset(**a, episode_ends=ends.astype(np.int64), env_id="Walker2d-v5",
                           source="synthetic")
    cfg = load_config()
    cfg["dataset_params"].update(dataset=ds, batch_size=BATCH, reward_transform="none")
    cfg["policy_params"]["hidden_sizes"] = list(HIDDEN)
    cfg["learner_params"].update(gamma=HP["gamma"], critic_lr=HP["lr"], actor_lr=HP["lr"],
                                 value_lr=HP["lr"], update_factor=HP["tau"],
                                 expectile=HP["expectile"], temperature=HP["temperature"],
                                 exp_adv_max=HP["exp_adv_max"], fused_optimizer=args.fused)
    chunk = args.chunk
    cfg["trainer_params"]["n_steps_per_episode"] = chunk
    ms.set_seed(0)
    t0 = time.perf_counter()
    learner = build_components(algorithm_config(cfg, 1000)).learner
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    learner.learn(chunk)  # compile + first chunk
    first_s = time.perf_counter() - t0
    info = {"steps_per_call": chunk, "dataset_size": args.dataset_size,
            "fused_optimizer": args.fused, "build_s": round(build_s, 2),
            "compile_and_first_call_s": round(first_s, 2),
            "threads_num": args.threads or os.environ.get("MSRL_EXT_CPU_THREADS") or "default"}
    return learner, info


def setup_ours(args):
    learner, info = build_ours(args)
    chunk = args.chunk

    def run():
        return {"ms_per_update": 1000 * timed_calls(lambda: learner.learn(chunk), 1)[0] / chunk}

    return info, {args.label or "ours": run}


def count_ours_kernels(args):
    """Kernels per update of our update (MindSpore profiler; profile_iql.kernels_per_update):
    total, Adam kernels, the optimisers' scalar kernels, TensorMove copies."""
    import profile_iql

    learner, _ = build_ours(args)
    import mindspore as ms

    def inputs_for(n):
        idx = learner.replay_buffer.sample_indices(learner.rng, n)
        return ms.Tensor(idx), ms.Tensor(n, ms.int32)

    return profile_iql.kernels_per_update(ms, learner.update, inputs_for)


def setup_matmul(args):
    """Plain MindSpore GRAPH_MODE matmul FLOP/s: a chain of n x n @ n x n matmuls."""
    sys.path.insert(0, os.path.dirname(HERE))
    from mindspore_rl_ext.core.device import init_mindspore

    init_mindspore("CPU", cpu_threads=args.threads)
    from mindspore import Parameter, Tensor, nn, ops

    class Chain(nn.Cell):
        def __init__(self, n, reps):
            super().__init__()
            w = np.linalg.qr(np.random.default_rng(0).standard_normal((n, n)))[0]
            self.w = Parameter(Tensor(w.astype(np.float32)), name="w")
            self.reps = reps
            self.mm = ops.MatMul()

        def construct(self, x):
            for _ in range(self.reps):
                x = self.mm(x, self.w)
            return x

    cells = {}
    for n, reps in ((256, 64), (1024, 8)):
        x = Tensor(np.random.default_rng(1).standard_normal((n, n)).astype(np.float32))
        cells[n] = (Chain(n, reps), x, 2 * n ** 3 * reps)
        cells[n][0](x).asnumpy()

    def run():
        out = {}
        for n, (cell, x, flops) in cells.items():
            times = timed_calls(lambda: cell(x).asnumpy(), 5)
            out[f"gflops_{n}"] = flops / statistics.median(times) / 1e9
        return out

    return {}, {"matmul": run}


# --------------------------------------------------------------------------- d3rlpy
def setup_d3rlpy(args):
    import d3rlpy
    import torch

    torch.manual_seed(0)
    a = synthetic_arrays(args.dataset_size)
    dataset = d3rlpy.dataset.MDPDataset(
        observations=a["observations"], actions=a["actions"], rewards=a["rewards"],
        terminals=a["terminals"], timeouts=a["timeouts"])
    enc = d3rlpy.models.encoders.VectorEncoderFactory(hidden_units=list(HIDDEN), activation="relu")
    algo = d3rlpy.algos.IQLConfig(
        actor_learning_rate=HP["lr"], critic_learning_rate=HP["lr"], batch_size=BATCH,
        gamma=HP["gamma"], tau=HP["tau"], n_critics=2, expectile=HP["expectile"],
        weight_temp=HP["temperature"], max_weight=HP["exp_adv_max"],
        actor_encoder_factory=enc, critic_encoder_factory=enc, value_encoder_factory=enc,
        compile_graph=args.d3rlpy_compile,
    ).create(device="cpu:0")
    algo.build_with_dataset(dataset)

    def steps(n):
        for _ in range(n):
            algo.update(dataset.sample_transition_batch(BATCH))

    default_threads = torch.get_num_threads()
    t0 = time.perf_counter()
    steps(args.warmup)
    first_s = time.perf_counter() - t0

    # torch's default (one OpenMP thread per core) and 1 thread: OpenMP's spinning threads
    # collapse on a loaded machine, so the driver's headline "d3rlpy" is the faster one.
    def runner(threads, n):
        def run():
            torch.set_num_threads(threads)
            return {"ms_per_update": 1000 * timed_calls(lambda: steps(n), 1)[0] / n}
        return run

    info = {"warmup_s": round(first_s, 2), "torch_default_threads": default_threads,
            "compile_graph": args.d3rlpy_compile,
            "versions": {"d3rlpy": d3rlpy.__version__, "torch": torch.__version__}}
    measures = {"d3rlpy_torch_threads_1": runner(1, args.d3rlpy_steps)}
    if default_threads != 1:
        measures[f"d3rlpy_torch_threads_{default_threads}"] = runner(
            default_threads, max(5, args.d3rlpy_steps // 10))
    return info, measures


# --------------------------------------------------------------------------- JAX / Flax
def setup_jax(args):
    import flax
    import flax.linen as fnn
    import jax
    import jax.numpy as jnp
    import optax

    init = fnn.initializers.orthogonal(math.sqrt(2.0))

    class MLP(fnn.Module):
        dims: tuple
        out: int

        @fnn.compact
        def __call__(self, x):
            for d in self.dims:
                x = fnn.relu(fnn.Dense(d, kernel_init=init)(x))
            return fnn.Dense(self.out, kernel_init=init)(x)

    class DoubleCritic(fnn.Module):
        @fnn.compact
        def __call__(self, s, a):
            x = jnp.concatenate([s, a], -1)
            return MLP(HIDDEN, 1)(x)[:, 0], MLP(HIDDEN, 1)(x)[:, 0]

    class Value(fnn.Module):
        @fnn.compact
        def __call__(self, s):
            return MLP(HIDDEN, 1)(s)[:, 0]

    class Policy(fnn.Module):
        @fnn.compact
        def __call__(self, s):
            h = s
            for d in HIDDEN:
                h = fnn.relu(fnn.Dense(d, kernel_init=init)(h))
            mean = jnp.tanh(fnn.Dense(ACT_DIM, kernel_init=init)(h))
            log_std = self.param("log_std", fnn.initializers.zeros, (ACT_DIM,))
            return mean, jnp.clip(log_std, -5.0, 2.0)

    critic, value, policy = DoubleCritic(), Value(), Policy()
    k = jax.random.split(jax.random.PRNGKey(0), 3)
    s0, a0 = jnp.zeros((1, OBS_DIM)), jnp.zeros((1, ACT_DIM))
    cp = critic.init(k[0], s0, a0)
    vp = value.init(k[1], s0)
    pp = policy.init(k[2], s0)
    c_tx, v_tx = optax.adam(HP["lr"]), optax.adam(HP["lr"])
    p_tx = optax.adam(optax.cosine_decay_schedule(HP["lr"], 10 ** 6))
    state = dict(cp=cp, tp=jax.tree_util.tree_map(jnp.array, cp), vp=vp, pp=pp, co=c_tx.init(cp), vo=v_tx.init(vp), po=p_tx.init(pp))
    a = synthetic_arrays(args.dataset_size)
    data = {k_: jnp.asarray(a[k_]) for k_ in ("observations", "actions", "rewards",
                                               "next_observations", "terminals")}
    log2pi = math.log(2 * math.pi)

    def update(st, data, idx):
        s, act = data["observations"][idx], data["actions"][idx]
        r, s2, d = data["rewards"][idx], data["next_observations"][idx], data["terminals"][idx]
        tq = jnp.minimum(*critic.apply(st["tp"], s, act))

        def v_loss(p):
            diff = tq - value.apply(p, s)
            w = jnp.where(diff > 0, HP["expectile"], 1 - HP["expectile"])
            return (w * diff * diff).mean()

        vl, g = jax.value_and_grad(v_loss)(st["vp"])
        upd, vo = v_tx.update(g, st["vo"], st["vp"])
        vp = optax.apply_updates(st["vp"], upd)
        v_s, v_n = value.apply(vp, s), value.apply(vp, s2)
        w = jnp.minimum(jnp.exp((tq - v_s) * HP["temperature"]), HP["exp_adv_max"])

        def p_loss(p):
            mean, log_std = policy.apply(p, s)
            z = (act - mean) / jnp.exp(log_std)
            logp = (-0.5 * z * z - log_std - 0.5 * log2pi).sum(-1)
            return -(w * logp).mean()

        pl, g = jax.value_and_grad(p_loss)(st["pp"])
        upd, po = p_tx.update(g, st["po"], st["pp"])
        pp_ = optax.apply_updates(st["pp"], upd)
        y = r + HP["gamma"] * (1 - d) * v_n

        def c_loss(p):
            q1, q2 = critic.apply(p, s, act)
            return ((q1 - y) ** 2 + (q2 - y) ** 2).mean()

        cl, g = jax.value_and_grad(c_loss)(st["cp"])
        upd, co = c_tx.update(g, st["co"], st["cp"])
        cp_ = optax.apply_updates(st["cp"], upd)
        tp = jax.tree_util.tree_map(lambda t, p: t * (1 - HP["tau"]) + p * HP["tau"], st["tp"], cp_)
        return dict(cp=cp_, tp=tp, vp=vp, pp=pp_, co=co, vo=vo, po=po), jnp.stack([cl, pl, vl])

    jit_step = jax.jit(update, donate_argnums=0)
    scan_steps = jax.jit(lambda st, dat, idxs: jax.lax.scan(lambda c, i: update(c, dat, i), st, idxs),
                         donate_argnums=0)
    rng = np.random.default_rng(0)
    chunk = args.chunk
    holder = {"st": state}

    def run_jit(n):
        idx = rng.integers(0, args.dataset_size, (n, BATCH), dtype=np.int32)
        st = holder["st"]
        for i in range(n):
            st, losses = jit_step(st, data, idx[i])
        losses.block_until_ready()
        holder["st"] = st

    def run_scan(n):
        idx = rng.integers(0, args.dataset_size, (n, BATCH), dtype=np.int32)
        st, losses = scan_steps(holder["st"], data, idx)
        losses.block_until_ready()
        holder["st"] = st

    info = {"versions": {"jax": jax.__version__, "flax": flax.__version__, "optax": optax.__version__}}
    measures = {}
    for name, fn in (("jax_jit", run_jit), ("jax_scan", run_scan)):
        t0 = time.perf_counter()
        fn(chunk)  # compile + first chunk
        info[f"{name}_compile_and_first_call_s"] = round(time.perf_counter() - t0, 2)
        measures[name] = (lambda f: lambda: {
            "ms_per_update": 1000 * timed_calls(lambda: f(chunk), 1)[0] / chunk})(fn)
    return info, measures


def serve(args, setup):
    """Set up, report ready, then answer "run" lines on stdin with one measurement of every
    entry each (the driver interleaves workers run by run); "quit" ends."""
    if args.count_kernels:
        emit({"kernels_per_update": count_ours_kernels(args)})
        return
    info, measures = setup(args)
    if not args.serve:  # one-shot: args.steps // args.chunk runs, averaged
        runs = [{k: f() for k, f in measures.items()} for _ in range(max(1, args.steps // args.chunk))]
        for k in measures:
            info[k] = statistics.mean(r[k]["ms_per_update"] for r in runs)
        emit({"framework": args.worker, "ms_per_update": info[next(iter(measures))], **info})
        return
    emit({"ready": True, **info})
    for line in sys.stdin:
        if line.strip() == "run":
            emit({k: f() for k, f in measures.items()})
        elif line.strip() == "quit":
            break


# --------------------------------------------------------------------------- driver
def worker_cmd(python, name, args, serve=False, label=None, dataset_size=None, fused=False,
               count_kernels=False):
    chunk = KERNEL_COUNT_STEPS if count_kernels else args.chunk
    cmd = [python, os.path.abspath(__file__), "--worker", name, "--steps", str(args.steps),
           "--chunk", str(chunk), "--dataset-size", str(dataset_size or args.dataset_size),
           "--warmup", str(args.warmup), "--d3rlpy-steps", str(args.d3rlpy_steps)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.d3rlpy_compile:
        cmd.append("--d3rlpy-compile")
    if serve:
        cmd.append("--serve")
    if fused:
        cmd.append("--fused")
    if count_kernels:
        cmd.append("--count-kernels")
    if label:
        cmd += ["--label", label]
    return cmd


def run_worker(python, name, args, env=None, cmd=None):
    """One-shot worker in a subprocess (threads.py; kernel counts): its final result dict."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd or worker_cmd(python, name, args), capture_output=True, text=True,
                          cwd=os.path.dirname(HERE), env=env)
    wall = time.perf_counter() - t0
    results = [json.loads(line[len(RESULT_TAG):]) for line in proc.stdout.splitlines()
               if line.startswith(RESULT_TAG)]
    if results:
        results[-1]["process_wall_s"] = round(wall, 1)
        return results[-1]
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
    return {"framework": name, "error": f"exit {proc.returncode}", "output_tail": tail}


class Worker:
    """A serving worker process: set up once, then one measurement per ``run()``."""

    def __init__(self, label, cmd):
        import tempfile

        self.label = label
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True, bufsize=1,
                                     cwd=os.path.dirname(HERE))
        self.info = self._read()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith(RESULT_TAG):
                return json.loads(line[len(RESULT_TAG):])
        self.err.seek(0)
        tail = self.err.read().strip().splitlines()[-15:]
        raise RuntimeError(f"worker {self.label} exited ({self.proc.wait()}): " + "\n".join(tail))

    def run(self):
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait(timeout=120)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=1000, help="updates per run (one-shot workers)")
    p.add_argument("--chunk", type=int, default=1000,
                   help="updates per measurement and per compiled call (ours: "
                        "n_steps_per_episode; jax_scan; jax_jit calls)")
    p.add_argument("--dataset-size", type=int, default=100_000)
    p.add_argument("--warmup", type=int, default=20, help="d3rlpy warm-up updates")
    p.add_argument("--d3rlpy-steps", type=int, default=100,
                   help="d3rlpy updates per measurement with 1 torch thread (a tenth of it "
                        "with torch's default threads)")
    p.add_argument("--frameworks", default="ours,d3rlpy,jax")
    p.add_argument("--no-size-check", action="store_true", help="skip ours on 1M transitions")
    p.add_argument("--threads", type=int, default=None,
                   help="MindSpore threads_num for ours (default: the project default)")
    p.add_argument("--bench-python", default=None,
                   help="python of the bench venv (default: $MSRL_EXT_BENCH_PYTHON, else "
                        "~/.cache/mindspore_rl_ext/bench-venv/bin/python)")
    p.add_argument("--d3rlpy-compile", action="store_true", help="d3rlpy compile_graph=True")
    p.add_argument("--no-kernel-count", action="store_true",
                   help="skip counting our kernels per update (two short profiled processes)")
    p.add_argument("--fused", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--count-kernels", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--label", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        serve(args, {"ours": setup_ours, "matmul": setup_matmul, "d3rlpy": setup_d3rlpy,
                     "jax": setup_jax}[args.worker])
        return

    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = set(frameworks) - {"ours", "d3rlpy", "jax"}
    if unknown:
        raise SystemExit(f"unknown framework(s) {sorted(unknown)} (ours, d3rlpy, jax)")
    sys.path.insert(0, os.path.dirname(HERE))  # the driver (never a venv worker) imports the package
    from mindspore_rl_ext.sweep.peers.bench_venv import SETUP_CMD, bench_python

    venv_python = bench_python(args.bench_python)
    skipped, specs = {}, []
    for f in frameworks:
        if f == "ours":
            for label, fused in OURS.items():
                specs.append((label, worker_cmd(sys.executable, "ours", args, True, label, fused=fused)))
            if not args.no_size_check:
                specs.append(("ours_1m", worker_cmd(sys.executable, "ours", args, True, "ours_1m",
                                                    dataset_size=1_000_000)))
            specs.append(("matmul", worker_cmd(sys.executable, "matmul", args, True)))
        elif venv_python is None:
            skipped[f] = f"bench venv not found; create it with `{SETUP_CMD}` (or pass --bench-python)"
        else:
            specs.append((f, worker_cmd(venv_python, f, args, True)))

    load_before = os.getloadavg()
    kernels = {}
    if "ours" in frameworks and not args.no_kernel_count:
        for label, fused in OURS.items():
            print(f"[kernels] {label} ...", file=sys.stderr, flush=True)
            out = run_worker(sys.executable, "ours", args, cmd=worker_cmd(
                sys.executable, "ours", args, fused=fused, count_kernels=True))
            kernels[label] = out.get("kernels_per_update", out)
    workers, setup_info = [], {}
    try:
        for label, cmd in specs:  # one at a time, so compilations do not overlap
            print(f"[setup] {label} ...", file=sys.stderr, flush=True)
            try:
                w = Worker(label, cmd)
            except RuntimeError as e:
                skipped[label] = str(e)
                continue
            workers.append(w)
            setup_info[label] = w.info
        rounds = []
        for r in range(args.rounds):
            order = workers if r % 2 == 0 else workers[::-1]
            results = {}
            for w in order:
                print(f"[round {r + 1}/{args.rounds}] {w.label} ...", file=sys.stderr, flush=True)
                results.update(w.run())
            rounds.append(results)
    finally:
        for w in workers:
            w.close()

    # headline d3rlpy = its faster torch thread setting in each round
    for res in rounds:
        d3 = [v["ms_per_update"] for k, v in res.items() if k.startswith("d3rlpy_torch_threads_")]
        if d3:
            res["d3rlpy"] = {"ms_per_update": min(d3)}

    def ms_of(res, name):
        return (res.get(name) or {}).get("ms_per_update")

    names = [n for n in ("ours", "ours_fused", "ours_1m", "d3rlpy", "d3rlpy_torch_threads_1",
                         "d3rlpy_torch_threads_2", "jax_jit", "jax_scan")
             if any(ms_of(r, n) is not None for r in rounds)]
    names += sorted({k for r in rounds for k in r if k.startswith("d3rlpy_torch_threads_")} - set(names))
    ms_med = {n: median([ms_of(r, n) for r in rounds]) for n in names}
    report = {
        "benchmark": "iql_update_throughput",
        "machine": {"cpu": _cpu_model(), "cores": os.cpu_count(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                    "note": "shared machine: other jobs run concurrently; the frameworks' "
                            "measurements alternate within each round, so compare per-round "
                            "ratios over absolute times"},
        "setup": {"obs_dim": OBS_DIM, "act_dim": ACT_DIM, "hidden": list(HIDDEN), "batch": BATCH,
                  "dataset_size": args.dataset_size, "updates_per_measurement": args.chunk,
                  "d3rlpy_updates_per_measurement": args.d3rlpy_steps, "rounds": args.rounds, **HP},
        "ms_per_update_median": {n: _r(v) for n, v in ms_med.items()},
        "updates_per_s_median": {n: _r(1000.0 / v) for n, v in ms_med.items() if v},
    }
    ratios, per_round = {}, {}
    if "ours" in names:
        for other in ("ours_fused", "d3rlpy", "jax_jit", "jax_scan"):
            if other in names:
                rr = [ms_of(r, other) / ms_of(r, "ours") for r in rounds
                      if ms_of(r, other) and ms_of(r, "ours")]
                per_round[f"ours_vs_{other}"] = [_r(x) for x in rr]
                ratios[f"ours_vs_{other}"] = _r(median(rr))
        report["speed_ratio_ours_over_other_updates_per_s"] = ratios
        report["speed_ratio_per_round"] = per_round
        report["goals"] = {
            "ours >= 3x d3rlpy": None if "ours_vs_d3rlpy" not in ratios else ratios["ours_vs_d3rlpy"] >= 3.0,
            "ours >= jax_jit": None if "ours_vs_jax_jit" not in ratios else ratios["ours_vs_jax_jit"] >= 1.0,
        }
        report["kernels_per_update"] = kernels
        if "ours_1m" in names:
            rr = [ms_of(r, "ours_1m") / ms_of(r, "ours") for r in rounds
                  if ms_of(r, "ours_1m") and ms_of(r, "ours")]
            report["dataset_size_check"] = {
                "ms_per_update_100k": _r(ms_med["ours"]), "ms_per_update_1m": _r(ms_med["ours_1m"]),
                "ratio_1m_over_100k_per_round": [_r(x) for x in rr], "ratio_median": _r(median(rr))}
        flops, parts = iql_update_flops()
        fl = {"matmul_flops_per_update": flops, "breakdown": parts}
        mm = [r["matmul"] for r in rounds if "matmul" in r]
        if mm:
            fl["mindspore_matmul_gflops_256x256x256"] = _r(median([m["gflops_256"] for m in mm]))
            fl["mindspore_matmul_gflops_1024x1024x1024"] = _r(median([m["gflops_1024"] for m in mm]))
        for label in [n for n in OURS if n in names]:
            achieved = flops / (ms_med[label] / 1000) / 1e9
            best = min(ms_of(r, label) for r in rounds if ms_of(r, label))
            fl[f"{label}_achieved_gflops_median"] = _r(achieved)
            fl[f"{label}_achieved_gflops_best_round"] = _r(flops / (best / 1000) / 1e9)
            if mm:
                fl[f"{label}_fraction_of_matmul_256"] = _r(achieved / fl["mindspore_matmul_gflops_256x256x256"])
        if mm:
            report["goals"]["ours >= 75% of the bare 256 matmul GFLOP/s"] = \
                fl["ours_fraction_of_matmul_256"] >= 0.75
        for other in ("jax_jit", "jax_scan", "d3rlpy"):
            if ms_med.get(other):
                fl[f"{other}_achieved_gflops_median"] = _r(flops / (ms_med[other] / 1000) / 1e9)
        report["flops"] = fl
    report["worker_setup"] = setup_info
    report["skipped"] = skipped
    report["rounds"] = [{k: {kk: _r(vv) for kk, vv in v.items()} for k, v in r.items()} for r in rounds]
    print(json.dumps(report, indent=1))


def _r(x, nd=3):
    return None if x is None else round(float(x), nd)


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


if __name__ == "__main__":
    main()
