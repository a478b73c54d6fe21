"""Shared pieces of the train/eval entry points: exit codes, error reporting, the eval
log's header and result lines."""
import os
import sys
import traceback

from mindspore_rl_ext.core.errors import MsRlExtError
from mindspore_rl_ext.core.trainer import TrainingInterrupted


def run_main(main, log_holder):
    """Run ``main()``; turn our errors into one clear line (log file and stderr) and an
    exit code: 0 ok, 1 error, 128+signal after SIGINT/SIGTERM (checkpoint saved). A Ctrl-C
    during a compiled call arrives as SIGTERM (MindSpore's own SIGINT handler sends it; see
    docs/mindspore_notes.md), so it exits 143 too."""
    try:
        main()
        return 0
    except TrainingInterrupted as e:
        _report(log_holder, f"Training interrupted: {e}")
        return 128 + e.signum
    except MsRlExtError as e:
        _report(log_holder, f"Error: {e}")
        return 1
    except Exception:  # an unexpected failure: full traceback for the bug report
        _report(log_holder, "Error: unexpected failure\n" + traceback.format_exc())
        return 1
    finally:
        if log_holder.get("log"):
            log_holder["log"].close()


def _report(log_holder, message):
    log = log_holder.get("log")
    if log is not None and log.path:
        log.echo = False
        log.info(message)
    print(message, file=sys.stderr)


def fresh_run_log(path, log_holder):
    """A RunLog on ``path`` (an older file there is removed), kept in ``log_holder``."""
    from mindspore_rl_ext.core.run_log import RunLog

    if os.path.exists(path):
        os.remove(path)
    log_holder["log"] = log = RunLog(path)
    return log


def log_eval_result(log, mean_return, score, ckpt_path):
    """MindSpore Reinforcement's eval result block, then ``eval end``."""
    from mindspore_rl_ext.core.callbacks import SEPARATOR

    score_text = f", normalized score is {score:.2f}" if score is not None else ""
    log.info(SEPARATOR)
    log.info(f"Evaluate result is {mean_return:.3f}, checkpoint file in {ckpt_path}{score_text}")
    log.info(SEPARATOR)
    log.info("eval end")
