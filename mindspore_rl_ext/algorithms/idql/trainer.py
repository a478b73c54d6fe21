"""IDQLTrainer: one episode = n_steps_per_episode compiled updates; IQL's trainer with
IDQL's networks and host state."""
import numpy as np

from mindspore_rl_ext.algorithms.iql.trainer import IQLTrainer
from mindspore_rl_ext.core.training_loop import DATASET_PREFIX


class IDQLTrainer(IQLTrainer):
    """Checkpoints one folder per network: ``actor``, ``ema_actor``, ``critic`` (twin Q),
    ``critic_target``, ``value`` and, for aligniql_hard, ``multipliers``. The resume state
    holds the optimiser moments and steps; host state the learner's RNG (batch indices,
    diffusion steps, noise, dropout seeds) and the actor's (sampler noise), so a resumed
    run repeats an uninterrupted one exactly. Evaluation is greedy with
    ``num_candidates``; each other N of ``eval_candidate_sweep`` is evaluated and logged."""

    LEGACY_FINGERPRINT_VALUES = {}
    POLICY_NETWORK = "actor"

    def __init__(self, msrl, params, log, fingerprint=None, candidate_sweep=()):
        super().__init__(msrl, params, log, fingerprint)
        self.candidate_sweep = [n for n in candidate_sweep if n != msrl.actor.num_candidates]

    def evaluate(self):
        actor, buffer = self.msrl.actor, self.msrl.replay_buffer
        episodes, vectorized = self.params["num_evaluate_episode"], self.params["vectorized_eval"]
        for n in self.candidate_sweep:
            mean_return = float(np.mean(actor.act(episodes, vectorized, num_candidates=n)))
            score = buffer.normalized_score(mean_return)
            score_text = f", normalized score is {score:.2f}" if score is not None else ""
            self.log.info(f"Evaluate with N={n} candidates: total rewards is "
                          f"{mean_return:.3f}{score_text}")
        mean_return = float(np.mean(actor.act(episodes, vectorized)))
        return mean_return, buffer.normalized_score(mean_return)

    def trainable_variables(self):
        return self.msrl.policy_and_network.networks()

    def resume_cell(self):
        return self.msrl.learner.update, DATASET_PREFIX

    def host_state(self):
        return {"index_rng": self.msrl.learner.rng.bit_generator.state,
                "actor_rng": self.msrl.actor.rng.bit_generator.state}

    def load_host_state(self, state):
        self.msrl.learner.rng.bit_generator.state = state["index_rng"]
        self.msrl.actor.rng.bit_generator.state = state["actor_rng"]
