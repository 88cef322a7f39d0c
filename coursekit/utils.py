"""Small shared utilities: progress bars, the torch device, seeding."""
from __future__ import annotations

import os
import random

import numpy as np


def progress(iterable=None, **kwargs):
    """A tqdm progress bar that works in notebooks and terminals (every training loop uses one)."""
    from tqdm.auto import tqdm
    kwargs.setdefault("leave", False)
    kwargs.setdefault("mininterval", 0.2)
    kwargs.setdefault("disable", os.environ.get("COURSE_NO_PROGRESS") == "1")
    return tqdm(iterable, **kwargs)


def device():
    """The torch device the notebooks use: CUDA when present, else the CPU."""
    import torch
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed python, numpy and torch (if imported) and return a fresh numpy Generator."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
        torch.manual_seed(seed)
    except ImportError:
        pass
    return np.random.default_rng(seed)
