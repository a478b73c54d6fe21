"""Ad-hoc: the sign of AlignIQL-hard's beta(s) over the dataset's states at a run's last
checkpoint. With beta(s) < 0 the hard score -beta(s) Q - 1 increases with Q, so its greedy
pick is IDQL's argmax Q.

    python multiplier_sign.py RUN_DIR [RUN_DIR ...]
"""
import os
import sys

import numpy as np
from mindspore import Tensor

from mindspore_rl_ext.algorithms.idql import IDQLSession, load_config
from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.run_log import RunLog

for run_dir in sys.argv[1:]:
    cfg = load_config(os.path.join(run_dir, "env.yaml"), os.path.join(run_dir, "algo.yaml"),
                      algo="aligniql_hard")
    session = IDQLSession(RunLog(None, echo=False), config=cfg)
    msrl = session.build()
    trainer = session.make_trainer(msrl)
    root = os.path.join(run_dir, "ckpt")
    last = ckpt.network_steps(root, list(trainer.trainable_variables()))[-1]
    trainer.load_networks(ckpt.network_file(root, "multipliers", last))
    buffer = msrl.replay_buffer
    obs = buffer.normalize(np.asarray(buffer.observations[:200_000:20], np.float32))
    beta = msrl.policy_and_network.multipliers.beta(Tensor(obs)).asnumpy().ravel()
    print(f"{run_dir} (episode {last}): beta over {len(beta)} dataset states: "
          f"min {beta.min():.4f}, median {np.median(beta):.4f}, max {beta.max():.4f}, "
          f"share < 0: {np.mean(beta < 0):.4f}")
    msrl.eval_environment.close()
    msrl.collect_environment.close()
