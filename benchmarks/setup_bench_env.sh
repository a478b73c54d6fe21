#!/usr/bin/env bash
# Benchmark-only virtual environment for the d3rlpy (PyTorch) and JAX/Flax comparisons in
# benchmarks/iql_throughput.py and for the sweep's peer algorithm d3rlpy_iql (which
# evaluates in MuJoCo, hence gymnasium[mujoco]). Kept apart from the project's environment on purpose:
# d3rlpy pins its own gymnasium/numpy ranges and would break the project if installed there.
#
#   bash benchmarks/setup_bench_env.sh            # venv at ~/.cache/mindspore_rl_ext/bench-venv
#   MSRL_EXT_BENCH_VENV=/some/dir bash benchmarks/setup_bench_env.sh
#
# torch goes in FIRST and pinned (torch==2.13.0, which resolves to the local 2.13.0+cpu
# wheel here): a plain `pip install torch` pulls the CUDA build and GBs of nvidia-* packages,
# and d3rlpy would pull that if torch were not there already.
set -euo pipefail
VENV="${MSRL_EXT_BENCH_VENV:-$HOME/.cache/mindspore_rl_ext/bench-venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p "$(dirname "$VENV")"
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --upgrade pip
"$VENV/bin/python" -m pip install "torch==2.13.0"
"$VENV/bin/python" -m pip install "d3rlpy==2.8.1"
"$VENV/bin/python" -m pip install jax jaxlib flax optax
# MuJoCo for evaluation: gymnasium's extra at d3rlpy's gymnasium pin (1.0.0), and the
# project's MuJoCo release, so the -v5 environments step exactly as in our evaluations
"$VENV/bin/python" -m pip install "gymnasium[mujoco]==1.0.0" "mujoco==4.0.0"
"$VENV/bin/python" - <<'PY'
import d3rlpy, flax, gymnasium, jax, mujoco, optax, torch
gymnasium.make("Hopper-v5").reset(seed=0)
print("bench venv ok: torch", torch.__version__, "| d3rlpy", d3rlpy.__version__,
      "| jax", jax.__version__, "| flax", flax.__version__, "| optax", optax.__version__,
      "| gymnasium", gymnasium.__version__, "| mujoco", mujoco.__version__)
PY
echo "$VENV/bin/python"
