"""Acting with a diffusion policy: batched action selection among sampled candidates,
and compiled helpers (min-Q of a critic, raw actor samples) for plots and tests."""
import mindspore as ms
from mindspore import nn, ops


class DiffusionActionSelector(nn.Cell):
    """Batched action selection (GRAPH_MODE).

    ``num_samples`` actions per state from ``actor``; ``selection``:
    ``softmax`` (DQL/EDP: draw one with p = softmax(min Q_target), temperature 1, by the
    Gumbel-max trick), ``argmax`` (IDQL-style greedy), ``first`` (no critic: one sample).
    """

    SELECTIONS = ("softmax", "argmax", "first")

    def __init__(self, actor, critic=None, num_samples=50, selection="softmax"):
        super().__init__()
        if selection not in self.SELECTIONS:
            raise ValueError(f"selection '{selection}' is not one of {self.SELECTIONS}")
        if critic is None:
            selection, num_samples = "first", 1
        self.actor = actor
        self.critic = critic
        self.n = int(num_samples)
        self.selection = selection

    def construct(self, state):
        b = state.shape[0]
        if self.selection == "first" or self.n == 1:
            return self.actor.sample(state)
        s_rpt = ops.repeat_interleave(state, self.n, 0)
        acts = self.actor.sample(s_rpt)
        q = self.critic.q_min(s_rpt, acts).reshape(b, self.n)
        if self.selection == "softmax":
            u = ops.clamp(ops.rand((b, self.n)), 1e-10, 1.0 - 1e-7)
            q = q - ops.log(-ops.log(u))
        k = ops.argmax(q, 1).astype(ms.int32)
        rows = ops.arange(b, dtype=ms.int32) * self.n + k
        return ops.gather(acts, rows, 0)


class QValue(nn.Cell):
    """min(Q1, Q2)(s, a) of a DoubleCritic as one compiled call (plots, tests)."""

    def __init__(self, critic):
        super().__init__()
        self.critic = critic

    def construct(self, state, action):
        return self.critic.q_min(state, action)


class ActorSampler(nn.Cell):
    """Raw samples of a Diffusion actor, one per state (compiled)."""

    def __init__(self, actor):
        super().__init__()
        self.actor = actor

    def construct(self, state):
        return self.actor.sample(state)
