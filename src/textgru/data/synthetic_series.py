"""The built-in generated series (`data=synthetic_sine`): a noisy sine whose amplitude and period wander."""

from __future__ import annotations

import numpy as np


def synthetic_sine(
    *, length: int, period: float, noise: float, amplitude_drift: float, period_drift: float, seed: int, features: int
) -> tuple[np.ndarray, list[str]]:
    """A noisy sine: amplitude * sin(phase + feature offset) plus Gaussian noise of std `noise`. The amplitude
    and the log of the period wander as mean-reverting random walks (AR(1), correlation time 5 periods) around
    1 and log(period), with spreads (standard deviations) `amplitude_drift` and `period_drift`; 0 keeps them
    fixed. A fixed sine is predicted almost perfectly by a linear AR model; a wandering period is not. Returns the
    values (time, features) and their column names."""
    rng = np.random.default_rng(seed)
    phi = np.exp(-1 / (5 * period))
    amp_shocks = rng.normal(0, amplitude_drift * np.sqrt(1 - phi**2), size=length)
    period_shocks = rng.normal(0, period_drift * np.sqrt(1 - phi**2), size=length)
    amplitude, phase = np.empty((length, 1)), np.empty((length, 1))
    a, log_p, ph = 1.0, 0.0, 0.0
    for i in range(length):
        a, log_p = 1 + phi * (a - 1) + amp_shocks[i], phi * log_p + period_shocks[i]
        ph += 2 * np.pi / (period * np.exp(log_p))
        amplitude[i], phase[i] = a, ph
    phase = phase + np.arange(features)[None, :] * np.pi / 3  # (time, features)
    values = amplitude * np.sin(phase) + rng.normal(0, noise, size=(length, features))
    return values, [f"sine{i}" if features > 1 else "sine" for i in range(features)]  # (time, features), names
