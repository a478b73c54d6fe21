"""Sweeps of algorithms x datasets x seeds on Ray, resumable, with a report.

``python -m mindspore_rl_ext.sweep SWEEP.yaml [--out OUT] [--address auto|HOST:PORT]``
runs the grid of a sweep file (``grid.py``) as one Ray task per run (``runner.py``),
each through the project's training entry point (``algorithms.py``), into
``OUT/<algo>/<dataset>/seed<k>/``: ``env.yaml``, ``algo.yaml``, ``ckpt/``,
``<algo>_train_log.txt``, ``metrics.csv``, ``output.txt`` and ``run.json``.
``python -m mindspore_rl_ext.sweep.report OUT`` writes the results table and the
learning curves (``report.py``). ``python -m mindspore_rl_ext.sweep.prepare SWEEP.yaml
[--steps N]`` first generates the ``msrl_ext`` datasets the grid names that are missing
(``prepare.py``).
"""
