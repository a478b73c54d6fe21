"""Pretrained IQL value functions (CleanDiffuser's ``cleandiffuser.utils.valuefuncs.Iql``).

Q and V are three-layer MLPs (Linear -> LayerNorm -> GELU(tanh) -> Linear -> LayerNorm ->
GELU(tanh) -> Linear, LayerNorm eps 1e-5 as in PyTorch), hidden 512; Q is an ensemble of
``q_ensembles`` nets with an EMA target copy, V an ensemble of ``v_ensembles`` nets.

    iql = Iql(obs_dim, act_dim, tau=0.7)
    iql.fit({"obs": o, "act": a, "next_obs": o2, "rew": r, "done": d}, steps=100_000)
    q = iql.forward_q(obs, act)          # (..., 1): min over the Q ensemble
    v = iql.forward_v(obs)               # (..., 1)
    iql, params = Iql.from_pretrained("default")   # from the local model zoo

Inputs are Gaussian-normalised observations (stats in ``params["normalizers"]["state"]``)
and raw actions. ``forward_q`` / ``forward_v`` are host-side calls (numpy or Tensor in, the
same type out, any leading shape, compiled once for any batch size). Inside your own
compiled cell use the graph-safe ``iql.q.min_q(obs, act)``, ``iql.q_targ.min_q(obs, act)``
and ``iql.v.min_v(obs)``, which also take any leading shape.
"""
import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops

from mindspore_rl_ext.core.device_dataset import DeviceDataset
from mindspore_rl_ext.core.errors import ConfigError, TrainingDivergedError
from mindspore_rl_ext.core.training_loop import CompiledTraining
from mindspore_rl_ext.core.weights import copy_weights, polyak
from mindspore_rl_ext.nets.mlp import MLP
from mindspore_rl_ext.pretrained import common
from mindspore_rl_ext.pretrained import zoo as model_zoo

LAYER_NORM_EPS = 1e-5  # PyTorch's default; MindSpore's LayerNorm default is 1e-7


def _mlp(in_dim, out_dim, hidden_dim, use_layer_norm=True, use_gelu=True):
    """CleanDiffuser's ``Mlp``: 3 Linear layers, LayerNorm before each hidden activation."""
    return MLP(in_dim, (hidden_dim, hidden_dim), out_dim,
               activation="gelu_tanh" if use_gelu else "relu",
               layer_norm=use_layer_norm, layer_norm_eps=LAYER_NORM_EPS)


class Qfuncs(nn.Cell):
    """Ensemble of Q(s, a) MLPs: construct -> (..., n_ensembles, 1); min_q -> (..., 1)."""

    def __init__(self, obs_dim, act_dim, hidden_dim=256, n_ensembles=10, use_layer_norm=True,
                 use_gelu=True):
        super().__init__()
        self.q_funcs = nn.CellList([_mlp(obs_dim + act_dim, 1, hidden_dim, use_layer_norm,
                                         use_gelu) for _ in range(n_ensembles)])

    def construct(self, obs, act):
        x = ops.concat((obs, act), -1)
        return ops.stack([q(x) for q in self.q_funcs], -2)

    def min_q(self, obs, act):
        return ops.amin(self.construct(obs, act), -2)


class Vfuncs(nn.Cell):
    """Ensemble of V(s) MLPs: construct -> (..., n_ensembles, 1); min_v -> (..., 1)."""

    def __init__(self, obs_dim, hidden_dim=256, n_ensembles=1, use_layer_norm=True,
                 use_gelu=True):
        super().__init__()
        self.v_funcs = nn.CellList([_mlp(obs_dim, 1, hidden_dim, use_layer_norm, use_gelu)
                                    for _ in range(n_ensembles)])

    def construct(self, obs):
        return ops.stack([v(obs) for v in self.v_funcs], -2)

    def min_v(self, obs):
        return ops.amin(self.construct(obs), -2)


def expectile_loss(diff, tau):
    """mean(|tau - 1[diff < 0]| * diff^2): IQL's asymmetric L2 (diff = target - prediction)."""
    weight = ops.abs(tau - (diff < 0).astype(diff.dtype))
    return (weight * diff * diff).mean()


class _MinQ(nn.Cell):
    def __init__(self, qfuncs):
        super().__init__(auto_prefix=False)
        self.qfuncs = qfuncs

    def construct(self, obs, act):
        return self.qfuncs.min_q(obs, act)


class _MinV(nn.Cell):
    def __init__(self, vfuncs):
        super().__init__(auto_prefix=False)
        self.vfuncs = vfuncs

    def construct(self, obs):
        return self.vfuncs.min_v(obs)


class Iql(nn.Cell):
    """IQL value functions with CleanDiffuser's arguments and defaults.

    obs_dim, act_dim: dimensions; tau: expectile (0.9 for antmaze, 0.7 otherwise);
    discount: 0.99; hidden_dim: 512; q_ensembles: 2; v_ensembles: 1; ema_ratio: the Q
    target keeps this fraction of itself per step (0.99); lr: Adam learning rate (3e-4).
    """

    def __init__(self, obs_dim, act_dim, tau=0.7, discount=0.99, hidden_dim=512, q_ensembles=2,
                 v_ensembles=1, ema_ratio=0.99, lr=3e-4):
        super().__init__()
        for name, value in (("obs_dim", obs_dim), ("act_dim", act_dim), ("hidden_dim", hidden_dim),
                            ("q_ensembles", q_ensembles), ("v_ensembles", v_ensembles)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"Iql: {name} must be a positive int, got {value!r}")
        for name, value, lo, hi in (("tau", tau, 0.0, 1.0), ("discount", discount, 0.0, 1.0),
                                    ("ema_ratio", ema_ratio, 0.0, 1.0)):
            if not (isinstance(value, (int, float)) and lo <= value <= hi):
                raise ConfigError(f"Iql: {name} must be a number in [{lo}, {hi}], got {value!r}")
        if not (isinstance(lr, (int, float)) and lr > 0):
            raise ConfigError(f"Iql: lr must be a positive number, got {lr!r}")
        self.obs_dim, self.act_dim = int(obs_dim), int(act_dim)
        self.iql_tau, self.discount = float(tau), float(discount)
        self.ema_ratio, self.lr = float(ema_ratio), float(lr)
        self.config = {"obs_dim": self.obs_dim, "act_dim": self.act_dim, "tau": self.iql_tau,
                       "discount": self.discount, "hidden_dim": int(hidden_dim),
                       "q_ensembles": int(q_ensembles), "v_ensembles": int(v_ensembles),
                       "ema_ratio": self.ema_ratio, "lr": self.lr}
        self.q = Qfuncs(obs_dim, act_dim, hidden_dim, q_ensembles)
        self.q_targ = Qfuncs(obs_dim, act_dim, hidden_dim, q_ensembles)
        self.v = Vfuncs(obs_dim, hidden_dim, v_ensembles)
        copy_weights(self.q, self.q_targ, freeze=True)
        self._infer = {}  # host-side inference cells (not sub-cells: no duplicate params)

    def construct(self, obs, act):
        """min over the Q ensemble, (..., 1); graph-safe."""
        return self.q.min_q(obs, act)

    # ------------------------------------------------------------------ inference
    def _infer_cell(self, key):
        if key not in self._infer:
            if key == "v":
                cell = _MinV(self.v)
                cell.set_inputs(Tensor(shape=[None, self.obs_dim], dtype=ms.float32))
            else:
                cell = _MinQ(self.q_targ if key == "q_targ" else self.q)
                cell.set_inputs(Tensor(shape=[None, self.obs_dim], dtype=ms.float32),
                                Tensor(shape=[None, self.act_dim], dtype=ms.float32))
            cell.set_train(False)
            self._infer[key] = cell
        return self._infer[key]

    @staticmethod
    def _finish(out, lead, to_numpy, requires_grad):
        out = out.reshape(lead + (1,))
        if to_numpy:
            return out.asnumpy()
        return out if requires_grad else ops.stop_gradient(out)

    def forward_q(self, obs, act, use_ema=False, requires_grad=False):
        """min over the Q ensemble (EMA target if use_ema), shape (..., 1).

        obs (..., obs_dim) and act (..., act_dim) may be numpy arrays or Tensors, with
        leading shapes that broadcast; numpy in -> numpy out. requires_grad=False stops
        gradients through the result (for gradients, call ``iql.q.min_q`` inside your
        own differentiated function)."""
        (obs2, act2), lead, to_numpy = common.flatten_inputs(
            [("obs", obs, self.obs_dim), ("act", act, self.act_dim)])
        out = self._infer_cell("q_targ" if use_ema else "q")(obs2, act2)
        return self._finish(out, lead, to_numpy, requires_grad)

    def forward_v(self, obs, requires_grad=False):
        """min over the V ensemble, shape (..., 1); numpy or Tensor as in forward_q."""
        (obs2,), lead, to_numpy = common.flatten_inputs([("obs", obs, self.obs_dim)])
        out = self._infer_cell("v")(obs2)
        return self._finish(out, lead, to_numpy, requires_grad)

    # ------------------------------------------------------------------ training
    def losses(self, obs, act, rew, next_obs, done):
        """(loss_q, loss_v, mean V, mean target Q) for one batch; graph-safe.

        V: expectile regression towards the EMA target's min-Q; Q: MSE towards
        rew + discount * (1 - done) * V(next_obs), averaged over batch and ensemble."""
        q_t = ops.stop_gradient(self.q_targ.min_q(obs, act))
        v = self.v.min_v(obs)
        loss_v = expectile_loss(q_t - v, self.iql_tau)
        next_v = ops.stop_gradient(self.v.min_v(next_obs))
        td_target = rew + self.discount * (1.0 - done) * next_v
        pred_q = self.q(obs, act)
        diff = pred_q - ops.expand_dims(td_target, -2)
        loss_q = (diff * diff).mean()
        return loss_q, loss_v, v.mean(), q_t.mean()

    def fit(self, data, steps=1_000_000, batch_size=512, seed=0, log_every=1000, ckpt_dir=None,
            save_every=10_000, resume=True, log=common.default_log, callback=None):
        """Train with Adam on ``data`` for ``steps`` updates, in compiled chunks.

        data: dict of numpy arrays ``obs``, ``act``, ``next_obs``, ``rew``, ``done``
        (aliases: ``observations``, ``actions``, ``next_observations``, ``rewards``,
        ``tml``/``terminals``; a TransitionDataset works too, as given: normalise its
        observations first); rew/done of shape (N,) or (N, 1). done marks true
        terminals only (never time-limit truncations). Each compiled call runs
        ``log_every`` updates on batches gathered in-graph from device-resident copies
        of the arrays. With ``ckpt_dir``, the weights and optimiser state are saved every
        ``save_every`` steps and at the end, and a later call with ``resume=True``
        continues from there. ``log``: a callable for progress lines (None: silent).
        ``callback(step, stats)`` runs after every chunk. Returns the training history.
        """
        what = "Iql.fit data"
        data = common.as_dict(data, what)
        arrays = {
            "obs": common.column(data, "obs", "observations", dim=self.obs_dim, what=what),
            "act": common.column(data, "act", "actions", dim=self.act_dim, what=what),
            "next_obs": common.column(data, "next_obs", "next_observations", dim=self.obs_dim,
                                      what=what),
            "rew": common.column(data, "rew", "rewards", dim=1, what=what),
            "done": common.column(data, "done", "tml", "terminals", dim=1, what=what),
        }
        n = common.same_length(arrays, what)
        for name, value in (("steps", steps), ("batch_size", batch_size),
                            ("log_every", log_every), ("save_every", save_every)):
            if not isinstance(value, (int, np.integer)) or value < (0 if name == "steps" else 1):
                raise ConfigError(f"Iql.fit: {name} must be a positive int, got {value!r}")
        chunk = int(min(log_every, steps)) or 1
        trainer = _IqlTrainer(self, arrays)
        fp = common.fingerprint(self.config, n, {
            "batch_size": int(batch_size), "seed": int(seed), "chunk": chunk,
            "data_sum": [float(arrays["obs"][:, 0].sum(dtype=np.float64)),
                         float(arrays["rew"].sum(dtype=np.float64))]})
        state = {"step": 0, "history": [], "fingerprint": fp}
        if ckpt_dir is not None and resume:
            loaded = common.load_train_state(ckpt_dir, trainer, fp)
            if loaded is not None:
                state = loaded
                if log:
                    log(f"Iql.fit: resumed from {ckpt_dir} at step {state['step']}")
        progress = common.Progress(log, steps, state["step"], prefix="iql ")
        last_saved = state["step"]
        trainer.set_train(True)
        while state["step"] < steps:
            step = state["step"]
            k = min(chunk, steps - step)
            idx = common.draw_indices(seed, step, n, chunk, batch_size)
            stats = trainer.train_steps(idx, k)
            if not np.all(np.isfinite(list(stats.values()))):
                raise TrainingDivergedError(f"Iql.fit: non-finite loss at step {step + k}: {stats}")
            state["step"] = step + k
            state["history"].append({"step": state["step"], **stats})
            progress(state["step"], **stats)
            if ckpt_dir is not None and (state["step"] - last_saved >= save_every
                                         or state["step"] >= steps):
                common.save_train_state(ckpt_dir, trainer, state)
                last_saved = state["step"]
            if callback is not None:
                callback(state["step"], stats)
        self.set_train(False)
        return {"steps": state["step"], "history": state["history"]}

    # ------------------------------------------------------------------ zoo
    def save_pretrained(self, name=None, zoo_dir=None, path=None, normalizer=None,
                        training=None, metrics=None, extra=None):
        """Write this model to ``path`` or to ``<zoo>/iql/<name>`` (zoo: zoo_dir, else
        $MSRL_EXT_ZOO, else ~/.mindspore_rl_ext/zoo). normalizer: {"mean", "std"} of the
        observations it was trained on (None: identity). Returns the folder."""
        folder = common.target_folder("iql", name, zoo_dir, path)
        params = common.params_dict("iql", type(self).__name__, name, self.config, normalizer,
                              self.obs_dim, training, metrics, extra)
        return model_zoo.write_model(folder, list(self.parameters_and_names()), params)

    @classmethod
    def from_pretrained(cls, name="default", zoo_dir=None):
        """(model, params) for zoo model ``name`` ("default": the default dataset's).

        Looks in zoo_dir when given, else in $MSRL_EXT_ZOO or ~/.mindspore_rl_ext/zoo,
        then in the zoo shipped with the package. ModelNotFoundError (a CheckpointError)
        lists what the zoo holds and the command that trains the missing model."""
        folder = model_zoo.find_model("iql", name, zoo_dir)
        params = model_zoo.read_params(folder, "iql")
        return model_zoo.build_model(cls, folder, params), params

    def load_cleandiffuser_state_dict(self, state_dict):
        """Load weights from a CleanDiffuser ``Iql`` checkpoint's ``state_dict``.

        state_dict: {torch name: array-like} (e.g. ``{k: v.numpy() for k, v in
        torch.load(f, weights_only=False)["state_dict"].items()}``)."""
        common.load_converted(self, common.convert_cleandiffuser(state_dict, _CD_MLP_IQL), "CleanDiffuser Iql")
        return self


class _IqlTrainer(CompiledTraining):
    """IQL updates run by the core compiled loop, batches gathered in-graph by host-drawn
    indices.

    One update (CleanDiffuser's order): losses on the batch -> Q target EMA from the
    pre-update Q -> one Adam step on Q and V (their losses touch disjoint parameters, so
    one optimiser equals two)."""

    METRICS = ("loss_q", "loss_v", "pred_v", "targ_q")

    def __init__(self, iql, arrays):
        columns = {k: np.ascontiguousarray(arrays[k], np.float32)
                   for k in ("obs", "act", "rew", "next_obs", "done")}
        super().__init__(DeviceDataset(columns), auto_prefix=False)  # keep the model's names
        self.iql = iql
        params = iql.q.trainable_params() + iql.v.trainable_params()
        self.opt = nn.Adam(params, learning_rate=iql.lr)
        self.grad_fn = ms.value_and_grad(self.loss_fn, None, self.opt.parameters, has_aux=True)
        self.q_params = ms.ParameterTuple(iql.q.get_parameters())
        self.targ_params = ms.ParameterTuple(iql.q_targ.get_parameters())
        self.ema_ratio = iql.ema_ratio

    def loss_fn(self, obs, act, rew, next_obs, done):
        loss_q, loss_v, pred_v, targ_q = self.iql.losses(obs, act, rew, next_obs, done)
        return loss_q + loss_v, loss_q, loss_v, pred_v, targ_q

    def step(self, obs, act, rew, next_obs, done):
        (_, loss_q, loss_v, pred_v, targ_q), grads = self.grad_fn(obs, act, rew, next_obs, done)
        polyak(self.targ_params, self.q_params, 1.0 - self.ema_ratio)
        self.opt(grads)
        return loss_q, loss_v, pred_v, targ_q


# CleanDiffuser nn.Sequential index -> our MLP parameter (per layer type)
_CD_MLP_IQL = {"0": "layers.0", "1": "norms.0", "3": "layers.1", "4": "norms.1", "6": "layers.2"}


__all__ = ["Iql", "Qfuncs", "Vfuncs", "expectile_loss"]
