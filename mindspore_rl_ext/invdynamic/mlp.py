"""Inverse dynamics models a_t = I(s_t, s_{t+1}) (CleanDiffuser's ``cleandiffuser.invdynamic``).

    invdyn = FancyMlpInvDynamic(obs_dim, act_dim)
    history = invdyn.fit({"obs": o, "act": a, "next_obs": o2})   # 80/20 split, early stop
    act = invdyn.predict(obs, next_obs)       # (..., obs_dim) x 2 -> (..., act_dim)
    invdyn, params = FancyMlpInvDynamic.from_pretrained("default")

Inputs are Gaussian-normalised observations (``params["normalizers"]["state"]``); the
output is an action in [-action_scale, action_scale] (tanh output). ``predict`` is a
host-side call (numpy or Tensor in, same type out, eval mode, compiled once for any batch
size); inside your own compiled cell call the model itself, ``invdyn(obs, next_obs)``,
which takes any leading shape (put it in eval mode first: ``invdyn.set_train(False)``).
"""
import os

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops

from mindspore_rl_ext.core.device_dataset import DeviceDataset
from mindspore_rl_ext.core.errors import CheckpointError, ConfigError, TrainingDivergedError
from mindspore_rl_ext.core.training_loop import CompiledTraining
from mindspore_rl_ext.core.weights import write_params
from mindspore_rl_ext.nets.mlp import MLP
from mindspore_rl_ext.pretrained import common
from mindspore_rl_ext.pretrained import zoo as model_zoo

LAYER_NORM_EPS = 1e-5
DROPOUT_RATE = 0.1
BEST_CKPT = "best.ckpt"


class BasicInvDynamic(nn.Cell):
    """Base class: ``construct(obs, next_obs)`` -> action; predict, loss, fit, zoo I/O."""

    def __init__(self, obs_dim, act_dim, lr=3e-4):
        super().__init__()
        for name, value in (("obs_dim", obs_dim), ("act_dim", act_dim)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{type(self).__name__}: {name} must be a positive int, "
                                  f"got {value!r}")
        if not (isinstance(lr, (int, float)) and lr > 0):
            raise ConfigError(f"{type(self).__name__}: lr must be a positive number, got {lr!r}")
        self.obs_dim, self.act_dim, self.lr = int(obs_dim), int(act_dim), float(lr)
        self.config = {"obs_dim": self.obs_dim, "act_dim": self.act_dim}
        self._infer = {}

    def construct(self, obs, next_obs):
        raise NotImplementedError

    # ------------------------------------------------------------------ inference
    def predict(self, obs, next_obs):
        """Action for each (obs, next_obs) pair, in eval mode (no dropout).

        obs, next_obs: (..., obs_dim) numpy arrays or Tensors with broadcasting leading
        shapes -> (..., act_dim), numpy in -> numpy out, gradients stopped."""
        (o, o2), lead, to_numpy = common.flatten_inputs(
            [("obs", obs, self.obs_dim), ("next_obs", next_obs, self.obs_dim)])
        if "predict" not in self._infer:
            cell = _Predict(self)
            cell.set_inputs(Tensor(shape=[None, self.obs_dim], dtype=ms.float32),
                            Tensor(shape=[None, self.obs_dim], dtype=ms.float32))
            self._infer["predict"] = cell
        cell = self._infer["predict"]
        cell.set_train(False)
        out = cell(o, o2).reshape(lead + (self.act_dim,))
        return out.asnumpy() if to_numpy else ops.stop_gradient(out)

    def loss(self, obs, act, next_obs):
        """MSE between the predicted and the true action; graph-safe."""
        diff = self.construct(obs, next_obs) - act
        return (diff * diff).mean()

    # ------------------------------------------------------------------ training
    def fit(self, data, val_data=None, val_fraction=0.2, batch_size=512, max_steps=1_000_000,
            val_every=None, patience=3, min_delta=0.0, seed=0, ckpt_dir=None, resume=True,
            log_every=None, max_val_samples=None, log=common.default_log, callback=None):
        """Train with Adam (lr from the constructor) and early stopping on validation MSE.

        data: dict of numpy arrays ``obs``, ``act``, ``next_obs`` (aliases
        ``observations``, ``actions``, ``next_observations``). Unless ``val_data`` is
        given, a seeded random ``val_fraction`` (20%, as CleanDiffuser) of the
        transitions is held out for validation. Validation runs every ``val_every``
        updates (default: one epoch of the training split); training stops after
        ``patience`` validations without an improvement larger than ``min_delta`` (or at
        ``max_steps``), and the model ends with the weights of the best validation (also
        in ``<ckpt_dir>/best.ckpt``), not the last ones as in CleanDiffuser.
        ``max_val_samples`` caps the validation transitions used for early stopping.
        Resumable from ``ckpt_dir`` (saved at every validation). Returns the history:
        ``{"steps", "best_step", "best_val_loss", "stopped_early", "val": [...]}``.
        """
        what = f"{type(self).__name__}.fit data"
        train = _invdyn_arrays(data, self.obs_dim, self.act_dim, what)
        if val_data is not None:
            val = _invdyn_arrays(val_data, self.obs_dim, self.act_dim, what + " (val_data)")
        else:
            if not 0.0 < val_fraction < 1.0:
                raise ConfigError(f"fit: val_fraction must be in (0, 1), got {val_fraction!r}")
            train, val = split_transitions(train, val_fraction, seed)
        n_train, n_val = len(train["obs"]), len(val["obs"])
        if max_val_samples is not None and n_val > max_val_samples:
            pick = np.random.default_rng([int(seed), 1]).choice(n_val, max_val_samples,
                                                                replace=False)
            val = {k: v[np.sort(pick)] for k, v in val.items()}
        for name, value in (("batch_size", batch_size), ("max_steps", max_steps),
                            ("patience", patience)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"fit: {name} must be a positive int, got {value!r}")
        val_every = int(val_every or max(1, -(-n_train // batch_size)))
        log_every = int(log_every or val_every)
        chunk = max(1, min(log_every, val_every, max_steps))
        trainer = _InvDynTrainer(self, train)
        evaluator = _ValLoss(self, val)
        fp = common.fingerprint({"class": type(self).__name__, **self.config, "lr": self.lr},
                                n_train, {"n_val": int(len(val["obs"])), "batch": int(batch_size),
                                          "seed": int(seed), "chunk": chunk,
                                          "val_every": val_every,
                                          "data_sum": float(train["act"].sum(dtype=np.float64))})
        state = {"step": 0, "best_step": None, "best_val_loss": None, "wait": 0, "val": [],
                 "train": [], "stopped_early": False, "fingerprint": fp}
        best = None
        if ckpt_dir is not None and resume:
            loaded = common.load_train_state(ckpt_dir, trainer, fp)
            if loaded is not None:
                state = loaded
                best = _read_best(ckpt_dir) if state["best_step"] is not None else None
                if log:
                    log(f"{type(self).__name__}.fit: resumed from {ckpt_dir} at step "
                        f"{state['step']} (best val {state['best_val_loss']} at step "
                        f"{state['best_step']})")
        progress = common.Progress(log, max_steps, state["step"], prefix="invdyn ")
        since_log = 0
        while state["step"] < max_steps and not state["stopped_early"]:
            step = state["step"]
            k = min(chunk, max_steps - step, val_every - step % val_every)
            idx = common.draw_indices(seed, step, n_train, chunk, batch_size)
            trainer.set_train(True)
            loss = trainer.train_steps(idx, k)["loss"]
            if not np.isfinite(loss):
                raise TrainingDivergedError(f"{type(self).__name__}.fit: non-finite loss at "
                                            f"step {step + k}")
            state["step"] = step + k
            state["train"].append([state["step"], loss])
            since_log += k
            stats = {"train_loss": loss}
            if state["step"] % val_every == 0 or state["step"] >= max_steps:
                val_loss = evaluator()
                stats["val_loss"] = val_loss
                state["val"].append([state["step"], val_loss])
                improved = (state["best_val_loss"] is None
                            or val_loss < state["best_val_loss"] - min_delta)
                if improved:
                    state.update(best_step=state["step"], best_val_loss=val_loss, wait=0)
                    best = {n: p.asnumpy().copy() for n, p in self.parameters_and_names()}
                    if ckpt_dir is not None:
                        _write_best(ckpt_dir, self)
                else:
                    state["wait"] += 1
                    if state["wait"] >= patience:
                        state["stopped_early"] = True
                if ckpt_dir is not None:
                    common.save_train_state(ckpt_dir, trainer, state)
            if since_log >= log_every or "val_loss" in stats:
                best_val = state["best_val_loss"]
                progress(state["step"], **stats,
                         best_val=float("nan") if best_val is None else best_val)
                since_log = 0
            if callback is not None:
                callback(state["step"], stats)
        if best is not None:  # in-graph writes: compiled graphs do not see set_data
            named = list(self.parameters_and_names())
            write_params([p for _, p in named], [best[n] for n, _ in named])
        self.set_train(False)
        if log and state["stopped_early"]:
            log(f"{type(self).__name__}.fit: early stop at step {state['step']}; kept the "
                f"best weights (step {state['best_step']}, val_loss {state['best_val_loss']:.6g})")
        return {"steps": state["step"], "best_step": state["best_step"],
                "best_val_loss": state["best_val_loss"], "stopped_early": state["stopped_early"],
                "val": state["val"], "train": state["train"]}

    def validation_loss(self, data, batch=8192):
        """MSE of predict() against the actions of ``data`` (dict obs/act/next_obs)."""
        arrays = _invdyn_arrays(data, self.obs_dim, self.act_dim, "validation_loss data")
        sq, count = 0.0, 0
        for s in range(0, len(arrays["obs"]), batch):
            pred = self.predict(arrays["obs"][s:s + batch], arrays["next_obs"][s:s + batch])
            sq += float(((pred - arrays["act"][s:s + batch]) ** 2).sum(dtype=np.float64))
            count += pred.size
        return sq / count

    # ------------------------------------------------------------------ zoo
    def save_pretrained(self, name=None, zoo_dir=None, path=None, normalizer=None,
                        training=None, metrics=None, extra=None):
        """Write this model to ``path`` or ``<zoo>/invdyn/<name>``; returns the folder.
        normalizer: {"mean", "std"} of the observations it was trained on (None: identity)."""
        folder = common.target_folder("invdyn", name, zoo_dir, path)
        params = common.params_dict("invdyn", type(self).__name__, name, self.config, normalizer,
                              self.obs_dim, training, metrics, extra)
        return model_zoo.write_model(folder, list(self.parameters_and_names()), params)

    @classmethod
    def from_pretrained(cls, name="default", zoo_dir=None):
        """(model, params) for zoo model ``name`` ("default": the default dataset's).

        Builds the class recorded in params.json (it must be ``cls`` or a subclass).
        ModelNotFoundError (a CheckpointError) lists the zoo and the training command."""
        folder = model_zoo.find_model("invdyn", name, zoo_dir)
        params = model_zoo.read_params(folder, "invdyn")
        recorded = params.get("model_class", "FancyMlpInvDynamic")
        klass = _CLASSES.get(recorded)
        if klass is None or not issubclass(klass, cls):
            raise CheckpointError(f"'{folder}' holds a {recorded}, which {cls.__name__}."
                                  f"from_pretrained cannot build; use {recorded}.from_pretrained")
        return model_zoo.build_model(klass, folder, params), params


class MlpInvDynamic(BasicInvDynamic):
    """Linear(2*obs, h) -> ReLU -> Linear(h, h) -> ReLU -> Linear(h, act) [-> Tanh * scale]."""

    _builds_own_mlp = False

    def __init__(self, obs_dim, act_dim, hidden_dim=512, tanh_out_activation=True,
                 action_scale=1.0, lr=3e-4):
        super().__init__(obs_dim, act_dim, lr)
        self._check_common(hidden_dim, action_scale)
        self.tanh_out_activation = bool(tanh_out_activation)
        self.action_scale = float(action_scale)
        self.config.update(hidden_dim=int(hidden_dim),
                           tanh_out_activation=self.tanh_out_activation,
                           action_scale=self.action_scale)
        if not self._builds_own_mlp:  # FancyMlpInvDynamic builds another one
            self.mlp = MLP(2 * obs_dim, (hidden_dim, hidden_dim), act_dim, activation="relu")

    def _check_common(self, hidden_dim, action_scale):
        if not isinstance(hidden_dim, (int, np.integer)) or hidden_dim < 1:
            raise ConfigError(f"{type(self).__name__}: hidden_dim must be a positive int, "
                              f"got {hidden_dim!r}")
        if not (isinstance(action_scale, (int, float)) and action_scale > 0):
            raise ConfigError(f"{type(self).__name__}: action_scale must be a positive number, "
                              f"got {action_scale!r}")

    def construct(self, obs, next_obs):
        out = self.mlp(ops.concat((obs, next_obs), -1))
        if self.tanh_out_activation:
            # tanh(x) = 2 sigmoid(2x) - 1: MindSpore's CPU ops.tanh is off by up to 1e-4
            out = (2.0 * ops.sigmoid(2.0 * out) - 1.0) * self.action_scale
        return out

    def load_cleandiffuser_state_dict(self, state_dict):
        """Load a CleanDiffuser MlpInvDynamic ``state_dict`` ({torch name: array})."""
        common.load_converted(self, common.convert_cleandiffuser(state_dict, self._cd_index_map(),
                                                     keep_mlp=True),
                        f"CleanDiffuser {type(self).__name__}")
        return self

    def _cd_index_map(self):
        return {"0": "layers.0", "2": "layers.1", "4": "layers.2"}


class FancyMlpInvDynamic(MlpInvDynamic):
    """CleanDiffuser's default: Linear -> LayerNorm -> GELU(tanh) -> Dropout(0.1) -> Linear
    -> LayerNorm -> GELU(tanh) -> Linear [-> Tanh * scale] (one dropout, after block 1)."""

    _builds_own_mlp = True

    def __init__(self, obs_dim, act_dim, hidden_dim=512, tanh_out_activation=True,
                 action_scale=1.0, add_norm=True, add_dropout=True, lr=3e-4):
        super().__init__(obs_dim, act_dim, hidden_dim, tanh_out_activation, action_scale, lr)
        self.add_norm, self.add_dropout = bool(add_norm), bool(add_dropout)
        self.config.update(add_norm=self.add_norm, add_dropout=self.add_dropout)
        self.mlp = MLP(2 * obs_dim, (hidden_dim, hidden_dim), act_dim, activation="gelu_tanh",
                       layer_norm=self.add_norm, layer_norm_eps=LAYER_NORM_EPS,
                       dropout_rate=DROPOUT_RATE if self.add_dropout else None,
                       dropout_layers=(0,))

    def _cd_index_map(self):
        return {"0": "layers.0", "1": "norms.0", "4": "layers.1", "5": "norms.1",
                "7": "layers.2"}


_CLASSES = {"MlpInvDynamic": MlpInvDynamic, "FancyMlpInvDynamic": FancyMlpInvDynamic}


class _Predict(nn.Cell):
    def __init__(self, model):
        super().__init__(auto_prefix=False)
        self.model = model

    def construct(self, obs, next_obs):
        return self.model(obs, next_obs)


class _InvDynTrainer(CompiledTraining):
    """Adam updates of the inverse dynamics MSE, run by the core compiled loop on batches
    gathered in-graph."""

    METRICS = ("loss",)

    def __init__(self, model, arrays):
        columns = {k: np.ascontiguousarray(arrays[k], np.float32)
                   for k in ("obs", "act", "next_obs")}
        super().__init__(DeviceDataset(columns), auto_prefix=False)  # keep the model's names
        self.model = model
        self.opt = nn.Adam(model.trainable_params(), learning_rate=model.lr)
        self.grad_fn = ms.value_and_grad(self.loss_fn, None, self.opt.parameters)

    def loss_fn(self, obs, act, next_obs):
        return self.model.loss(obs, act, next_obs)

    def step(self, obs, act, next_obs):
        loss, grads = self.grad_fn(obs, act, next_obs)
        self.opt(grads)
        return (loss,)


class _ValLoss:
    """Validation MSE in eval mode, in fixed-size compiled batches (last one padded)."""

    def __init__(self, model, arrays, batch=4096):
        self.model, self.arrays = model, arrays
        self.batch = int(min(batch, len(arrays["obs"])))

    def __call__(self):
        n = len(self.arrays["obs"])
        sq = 0.0
        for s in range(0, n, self.batch):
            o = self.arrays["obs"][s:s + self.batch]
            pred = self.model.predict(o, self.arrays["next_obs"][s:s + self.batch])
            sq += float(((pred - self.arrays["act"][s:s + self.batch]) ** 2).sum(dtype=np.float64))
        return sq / (n * self.model.act_dim)


def _invdyn_arrays(data, obs_dim, act_dim, what):
    data = common.as_dict(data, what)
    arrays = {"obs": common.column(data, "obs", "observations", dim=obs_dim, what=what),
              "act": common.column(data, "act", "actions", dim=act_dim, what=what),
              "next_obs": common.column(data, "next_obs", "next_observations", dim=obs_dim,
                                        what=what)}
    common.same_length(arrays, what)
    return arrays


def split_transitions(arrays, val_fraction=0.2, seed=0):
    """Seeded random split of transition arrays: (train, val) with round(N*val_fraction)
    validation rows (at least 1 each side). CleanDiffuser: random_split 80/20."""
    n = len(next(iter(arrays.values())))
    if n < 2:
        raise ConfigError(f"need at least 2 transitions to split, got {n}")
    n_val = min(n - 1, max(1, n - int(n * (1.0 - val_fraction))))
    perm = np.random.default_rng([int(seed), 0]).permutation(n)
    val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    return ({k: v[train_idx] for k, v in arrays.items()},
            {k: v[val_idx] for k, v in arrays.items()})


def _write_best(ckpt_dir, model):
    from mindspore_rl_ext.core.checkpoint import save_params

    os.makedirs(ckpt_dir, exist_ok=True)
    save_params(list(model.parameters_and_names()), os.path.join(ckpt_dir, BEST_CKPT))


def _read_best(ckpt_dir):
    from mindspore_rl_ext.core.checkpoint import load_params

    return load_params(os.path.join(ckpt_dir, BEST_CKPT))
