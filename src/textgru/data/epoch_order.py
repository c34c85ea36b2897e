"""The generator of a training epoch's batch order: seeded from the pair (run seed, epoch)."""

from __future__ import annotations

import numpy as np
import torch

ORDER_RULE = 2  # the rule new runs order their epochs by; stored with the loader's place in every checkpoint
LEGACY_ORDER_RULE = 1  # `seed + epoch`: seed S's epoch e was seed S+1's epoch e-1 (a review); kept for runs begun so


def epoch_generator(seed: int, epoch: int, rule: int = ORDER_RULE) -> torch.Generator:
    """A torch generator for `epoch` of a run seeded `seed`. Rule 2 hashes the pair with numpy's `SeedSequence`
    (the same integers on every platform and Python run): the run's seed is its entropy and the epoch its spawn
    key, which numpy keeps apart (the seed is padded to a fixed width first), so no two pairs share a generator.
    Rule 1 (`LEGACY_ORDER_RULE`) is `seed + epoch`, for a checkpoint written before rule 2 to resume exactly."""
    if rule == LEGACY_ORDER_RULE:
        return torch.Generator().manual_seed(seed + epoch)
    if rule != ORDER_RULE:
        raise ValueError(f"unknown batch order rule {rule}")
    # % 2**64: torch's seeds may be negative, SeedSequence's entropy may not (the same seed to torch either way)
    state = np.random.SeedSequence(seed % 2**64, spawn_key=(epoch,)).generate_state(1, np.uint64)
    return torch.Generator().manual_seed(int(state[0]))
