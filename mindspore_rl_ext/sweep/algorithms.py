"""The algorithms a sweep can run, each through the project's own training entry point.

| sweep name | entry point | what it sets |
|---|---|---|
| ``iql`` | ``example/iql/train.py`` | IQL's defaults |
| ``bc`` | ``example/iql/train.py`` | ``example/iql/bc.yaml`` (IQL's actor update alone, temperature 0) |
| ``idql``, ``aligniql``, ``aligniql_hard`` | ``example/iql/train.py`` | ``--algo <name>`` |
| ``diffusion_<a>`` | ``example/diffusion_ql/train.py`` | ``--algo <a>``, a in ql, qg, edp, bc, eg_ood |
| ``d3rlpy_iql`` | ``mindspore_rl_ext/sweep/peers/d3rlpy_iql_launch.py`` | d3rlpy 2.8.1's IQL in the benchmark venv (the peer column; ``sweep/peers``) |

A run hands the entry point two YAML files it writes into its folder: ``env.yaml`` (the
dataset) and ``algo.yaml`` (the sweep's overrides, seed, checkpoint folder, budget); the
entry point's own checks and its resume apply unchanged.
"""
import copy
import os
from dataclasses import dataclass

from mindspore_rl_ext.core.config import load_yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIFFUSION_ALGOS = ("ql", "qg", "edp", "bc", "eg_ood")  # example/diffusion_ql/train.py ALGOS
IDQL_ALGOS = ("idql", "aligniql", "aligniql_hard")  # example/iql/train.py --algo


@dataclass(frozen=True)
class Algorithm:
    """How a sweep name maps onto a training entry point."""

    name: str
    family: str            # "iql", "idql", "diffusion_ql" or "d3rlpy"
    script: str            # entry point, relative to the repository root
    base_yaml: str = None  # algorithm YAML applied before the sweep's overrides
    algo_flag: str = None  # --algo value of the entry point (idql and diffusion families)

    @property
    def log_file(self) -> str:
        return f"{self.name}_train_log.txt"

    def base_overrides(self) -> dict:
        """The overrides of ``base_yaml`` (empty without one)."""
        if self.base_yaml is None:
            return {}
        return copy.deepcopy(load_yaml(os.path.join(REPO_ROOT, self.base_yaml)))

    def load_config(self, env_yaml: str, algo_yaml: str) -> dict:
        """The resolved config the entry point builds from these files (ConfigError if bad)."""
        if self.family == "iql":
            from mindspore_rl_ext.algorithms.iql.config import load_config
            return load_config(env_yaml, algo_yaml)
        if self.family == "idql":
            from mindspore_rl_ext.algorithms.idql.config import load_config
            return load_config(env_yaml, algo_yaml, algo=self.algo_flag)
        if self.family == "d3rlpy":
            from mindspore_rl_ext.sweep.peers.d3rlpy_iql_launch import load_config
            return load_config(env_yaml, algo_yaml)
        from mindspore_rl_ext.algorithms.diffusion_ql.config import load_config
        return load_config(env_yaml, algo_yaml, {"algo": self.algo_flag})

    def run_overrides(self, seed: int, episodes: int, run_dir: str, tensorboard: bool) -> dict:
        """What a run adds to the sweep's overrides: seed, folders, budget."""
        tp = {"ckpt_path": os.path.join(run_dir, "ckpt"), "tensorboard": tensorboard}
        out = {"seed": seed, "trainer_params": tp}
        if self.family == "diffusion_ql":
            out["algo"] = self.algo_flag
            tp.update(results_dir=os.path.join(run_dir, "results"), num_epochs=episodes)
        return out

    def argv(self, env_yaml: str, algo_yaml: str, episodes: int, run_dir: str,
             device: str) -> list[str]:
        """The entry point's command line (after the Python executable)."""
        log = os.path.join(run_dir, self.log_file)
        script = os.path.join(REPO_ROOT, self.script)
        if self.family in ("iql", "idql", "d3rlpy"):
            algo = ["--algo", self.algo_flag] if self.family == "idql" else []
            return [script, *algo, "--episode", str(episodes), "--device_target", device,
                    "--env_yaml", env_yaml, "--algo_yaml", algo_yaml, "--log_file", log]
        return [script, "--algo", self.algo_flag, "--device", device,
                "--env_yaml", env_yaml, "--algo_yaml", algo_yaml, "--log_file", log]


ALGORITHMS = {a.name: a for a in [
    Algorithm("iql", "iql", "example/iql/train.py"),
    Algorithm("bc", "iql", "example/iql/train.py", base_yaml="example/iql/bc.yaml"),
    *(Algorithm(a, "idql", "example/iql/train.py", algo_flag=a) for a in IDQL_ALGOS),
    *(Algorithm(f"diffusion_{a}", "diffusion_ql", "example/diffusion_ql/train.py", algo_flag=a)
      for a in DIFFUSION_ALGOS),
    Algorithm("d3rlpy_iql", "d3rlpy", "mindspore_rl_ext/sweep/peers/d3rlpy_iql_launch.py"),
]}
