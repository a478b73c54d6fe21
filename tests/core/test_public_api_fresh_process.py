"""The seeds' documented usage works in a plain script: a fresh Python process that never
calls init_mindspore and does not load the test conftest.

MindSpore 2.10 under NumPy 2 fails the first op of a process that converts a Python
argument (SystemError from '__truediv__' or 'reshape'); importing mindspore_rl_ext must
absorb it without fixing the device."""
import json
import os
import subprocess
import sys
import textwrap

from helpers import synthetic_dataset

from mindspore_rl_ext.data import save_d4rl_hdf5

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_plain_script(tmp_path, source):
    """Run ``source`` as a file in a fresh interpreter (no conftest, no init_mindspore);
    return the JSON object it prints last."""
    script = tmp_path / "snippet.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, "MSRL_EXT_CPU_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_pretrained_iql_snippet(tmp_path):
    out = run_plain_script(tmp_path, """
        import json
        import numpy as np
        import mindspore as ms
        from mindspore_rl_ext.utils.valuefuncs import Iql

        iql, params = Iql.from_pretrained("default")
        obs = ms.Tensor(np.zeros((4, 11), np.float32))
        act = ms.Tensor(np.zeros((4, 3), np.float32))
        q, v = iql.forward_q(obs, act), iql.forward_v(obs)
        fresh = Iql(obs_dim=11, act_dim=3, tau=0.7)
        v2 = fresh.forward_v(obs / 2.0)
        print(json.dumps({"q": list(q.shape), "v": list(v.shape), "v2": list(v2.shape),
                          "finite": bool(np.isfinite(q.asnumpy()).all())}))
    """)
    assert out == {"q": [4, 1], "v": [4, 1], "v2": [4, 1], "finite": True}


def test_inverse_dynamics_snippet(tmp_path):
    out = run_plain_script(tmp_path, """
        import json
        import numpy as np
        import mindspore as ms
        from mindspore_rl_ext.invdynamic import FancyMlpInvDynamic, MlpInvDynamic

        inv, _ = FancyMlpInvDynamic.from_pretrained("default")
        obs = ms.Tensor(np.zeros((4, 11), np.float32))
        act = inv.predict(obs, obs)
        plain = MlpInvDynamic(obs_dim=11, act_dim=3, hidden_dim=32)
        act2 = plain.predict(obs.reshape((2, 2, 11)), obs.reshape((2, 2, 11)))
        print(json.dumps({"act": list(act.shape), "act2": list(act2.shape)}))
    """)
    assert out == {"act": [4, 3], "act2": [2, 2, 3]}


def test_load_dataset_and_iql_session_snippet(tmp_path):
    """load_dataset and a short IQL session in a plain script; the session sets up
    MindSpore itself (GRAPH_MODE), since the script chose nothing."""
    save_d4rl_hdf5(synthetic_dataset(200, episode_len=50), tmp_path / "tiny.hdf5")
    out = run_plain_script(tmp_path, """
        import json
        import mindspore as ms
        from mindspore_rl_ext.algorithms.iql import IQLSession, IQLTrainer, load_config
        from mindspore_rl_ext.core.run_log import RunLog
        from mindspore_rl_ext.data import load_dataset

        ds = load_dataset("tiny.hdf5", env_id="Hopper-v5")
        cfg = load_config()
        cfg["dataset_params"].update(dataset="tiny.hdf5", batch_size=16)
        cfg["policy_params"]["hidden_sizes"] = [16, 16]
        cfg["trainer_params"].update(ckpt_path="ckpt", n_steps_per_episode=2,
                                     eval_per_episode=0, save_per_episode=1)
        trainer = IQLSession(RunLog(None, echo=False), config=cfg, episodes=1).run(
            IQLTrainer, episode=1)
        print(json.dumps({"transitions": len(ds), "episode": trainer.episode,
                          "graph_mode": ms.get_context("mode") == ms.GRAPH_MODE}))
    """)
    assert out == {"transitions": 200, "episode": 1, "graph_mode": True}


def _modules_loaded_by(statement):
    """The mindspore_rl_ext modules a fresh interpreter (in this checkout) has loaded
    after running ``statement``."""
    code = (statement + "; import sys, json; print(json.dumps(sorted(m for m in sys.modules "
            "if m.startswith('mindspore_rl_ext.'))))")
    env = {**os.environ, "MSRL_EXT_CPU_THREADS": "1", "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_utils_and_invdynamic_do_not_import_each_other():
    """Importing one package never loads the other; both CleanDiffuser-style paths work."""
    inv = _modules_loaded_by("from mindspore_rl_ext.invdynamic import FancyMlpInvDynamic")
    val = _modules_loaded_by("from mindspore_rl_ext.utils.valuefuncs import Iql; "
                             "import mindspore_rl_ext.utils.pretrain_zoo")
    assert "mindspore_rl_ext.invdynamic.mlp" in inv
    assert "mindspore_rl_ext.utils.valuefuncs.iql" in val
    assert [m for m in inv if m.startswith("mindspore_rl_ext.utils")] == []
    assert [m for m in val if m.startswith("mindspore_rl_ext.invdynamic")] == []
