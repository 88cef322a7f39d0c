"""Regenerate `pretrained_digits_cnn.pt`, the source model of notebook 11 (transfer learning).

A small CNN is trained on the *source task*: the handwritten digits 0-4 of the course's `digits`
data set (the training split of `coursekit.train_test_split(..., test_fraction=0.25, seed=0)`).
Its state_dict is saved next to this script. Everything is fixed: seeds, one CPU thread, float32,
full-batch Adam, and torch's deterministic algorithms, so a run reproduces the same weights on the
same machine and torch version (floating-point details may differ on other CPUs or versions; the
committed file is the one that data/SHA256SUMS pins).

    python data/make_pretrained.py            # writes data/pretrained_digits_cnn.pt, prints its sha256

The architecture must match `make_model` in notebook 11: conv1 -> relu -> pool -> conv2 -> relu ->
pool -> flatten -> head. Training uses random one-pixel shifts (data augmentation) and a little weight
decay, so that the convolutional features are not too specific to the five source classes. It takes
a few seconds on one core.
"""
from __future__ import annotations

import hashlib
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from coursekit import load_dataset, train_test_split  # noqa: E402

OUT = HERE / "pretrained_digits_cnn.pt"
SOURCE_CLASSES = [0, 1, 2, 3, 4]
SEED, STEPS, LR, WEIGHT_DECAY = 0, 300, 1e-2, 1e-4


def digits_cnn(n_classes: int) -> nn.Sequential:
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 16, kernel_size=3, padding=1)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(16, 32, kernel_size=3, padding=1)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("head", nn.Linear(32 * 2 * 2, n_classes)),
    ]))


def shifted(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """The batch moved by one random shift of -1, 0 or 1 pixel along each axis (zeros fill in)."""
    dy, dx = (int(v) for v in rng.integers(-1, 2, size=2))
    out = torch.zeros_like(x)
    out[:, :, max(dy, 0):8 + min(dy, 0), max(dx, 0):8 + min(dx, 0)] = \
        x[:, :, max(-dy, 0):8 + min(-dy, 0), max(-dx, 0):8 + min(-dx, 0)]
    return out


def main() -> None:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    X, y, _ = load_dataset("digits")
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_fraction=0.25, seed=0)
    keep, keep_test = np.isin(y_train, SOURCE_CLASSES), np.isin(y_test, SOURCE_CLASSES)
    xs = torch.tensor(X_train[keep].reshape(-1, 1, 8, 8), dtype=torch.float32)
    ys = torch.tensor(y_train[keep], dtype=torch.int64)
    model = digits_cnn(len(SOURCE_CLASSES))
    opt = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    rng = np.random.default_rng(SEED)
    for _ in range(STEPS):  # full batch, each step on a randomly shifted copy (data augmentation)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(shifted(xs, rng)), ys)
        loss.backward()
        opt.step()
    with torch.no_grad():
        xt = torch.tensor(X_test[keep_test].reshape(-1, 1, 8, 8), dtype=torch.float32)
        acc = (model(xt).argmax(1).numpy() == y_test[keep_test]).mean()
    torch.save(OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items()), OUT)
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()
    print(f"source task digits 0-4: {len(ys)} training images, final loss {loss.item():.4f}, "
          f"test accuracy {acc:.3f}")
    print(f"{digest}  {OUT.name}")


if __name__ == "__main__":
    main()
