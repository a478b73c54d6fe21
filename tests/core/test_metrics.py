"""metrics.csv rows per episode, cut back to the resumed episode on resume, and the same
values in TensorBoard event files."""
import struct

from mindspore_rl_ext.core.callbacks import CallbackParam
from mindspore_rl_ext.core.metrics import MetricsCallback, read_metrics

STEPS = 10


def train(callback, first, last, evals):
    """Drive the callback as Trainer._train does, from episode ``first`` - 1 to ``last``."""
    params = CallbackParam(trainer=None, cur_episode=first - 1, losses={})
    callback.begin(params)
    for episode in range(first, last + 1):
        callback.episode_begin(params)
        params.losses = {"critic_loss": 100.0 / episode, "actor_loss": -float(episode)}
        params.cur_episode = episode
        if episode in evals:  # what EvaluateCallback leaves
            params.last_eval = evals[episode]
        callback.episode_end(params)
    callback.end(params)


def test_rows_hold_losses_and_evaluations_and_resume_cuts_back(tmp_path):
    path = str(tmp_path / "metrics.csv")
    train(MetricsCallback(path, STEPS), 1, 3, {2: (12.5, 0.75)})
    rows = read_metrics(path)
    assert [r["episode"] for r in rows] == [1, 2, 3]
    assert [r["gradient_step"] for r in rows] == [10, 20, 30]
    assert [r["critic_loss"] for r in rows] == [100.0, 50.0, 100.0 / 3]
    assert [r["eval_return"] for r in rows] == [None, 12.5, None]
    assert [r["normalized_score"] for r in rows] == [None, 0.75, None]
    with open(path) as f:
        assert f.readline().strip() == ("episode,gradient_step,critic_loss,actor_loss,"
                                        "eval_return,normalized_score,wall_time_s")
    # resumed from the checkpoint of episode 2: episode 3 is trained again
    train(MetricsCallback(path, STEPS), 3, 4, {4: (20.0, 1.5)})
    resumed = read_metrics(path)
    assert [r["episode"] for r in resumed] == [1, 2, 3, 4]
    assert resumed[:2] == rows[:2]
    assert resumed[3]["normalized_score"] == 1.5
    walls = [r["wall_time_s"] for r in resumed]
    assert walls == sorted(walls)
    # a fresh start (no resume) begins a new file
    train(MetricsCallback(path, STEPS), 1, 1, {})
    assert [r["episode"] for r in read_metrics(path)] == [1]


def read_scalars(path):
    """(tag, step, value) of every scalar in a TensorBoard event file (TFRecord framing:
    8-byte length, 4-byte CRC, the Event proto, 4-byte CRC)."""
    from tensorboardX.proto import event_pb2

    data, i, out = open(path, "rb").read(), 0, []
    while i < len(data):
        (n,) = struct.unpack("<Q", data[i:i + 8])
        event = event_pb2.Event()
        event.ParseFromString(data[i + 12:i + 12 + n])
        out += [(v.tag, event.step, v.simple_value) for v in event.summary.value]
        i += 12 + n + 4
    return out


def test_tensorboard_event_files_hold_the_csv_values(tmp_path):
    path = str(tmp_path / "metrics.csv")
    train(MetricsCallback(path, STEPS, tensorboard=True), 1, 2, {2: (12.5, 0.75)})
    files = list((tmp_path / "tensorboard").iterdir())
    assert len(files) == 1
    scalars = read_scalars(str(files[0]))
    assert ("loss/critic_loss", 10, 100.0) in scalars
    assert ("loss/actor_loss", 20, -2.0) in scalars
    assert ("eval/eval_return", 20, 12.5) in scalars
    assert ("eval/normalized_score", 20, 0.75) in scalars
    assert not [s for s in scalars if s[0].startswith("eval/") and s[1] == 10]
