"""Test-wide setup: MindSpore on CPU in GRAPH_MODE, chosen before any op runs."""
import os

os.environ.setdefault("MSRL_EXT_CPU_THREADS", "2")

from mindspore_rl_ext.core.device import init_mindspore  # noqa: E402

init_mindspore("CPU")
