"""Ad-hoc: an idql run and an aligniql_hard run of the same seed and config, on the real
data, hold the same actor, EMA actor and critic networks at a checkpoint.

    python same_training_check.py IDQL_RUN/ckpt ALIGNIQL_HARD_RUN/ckpt EPISODE
"""
import sys

import mindspore as ms
import numpy as np

idql_root, hard_root, episode = sys.argv[1], sys.argv[2], int(sys.argv[3])
for net in ("actor", "ema_actor", "critic", "critic_target", "value"):
    a = ms.load_checkpoint(f"{idql_root}/{net}/{net}_{episode}.ckpt")
    b = ms.load_checkpoint(f"{hard_root}/{net}/{net}_{episode}.ckpt")
    assert a.keys() == b.keys(), net
    diff = max(float(np.abs(a[k].asnumpy() - b[k].asnumpy()).max()) for k in a)
    print(f"{net}: {len(a)} parameters, max |difference| {diff}")
