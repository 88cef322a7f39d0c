"""Course data: small real data sets shipped in `data/`, each verified by its SHA-256.

The folder is found from this file's location, so a notebook finds it whatever its working
directory is (your own folder, nbgrader's `autograded/<student>/<assignment>/`, a sandbox).
Set COURSE_DATA_DIR to use a copy somewhere else (the grader's sandbox shows that folder to the
student's kernel and sets the variable there too). Nothing is ever downloaded.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import os
from pathlib import Path

import numpy as np

DATA_DIR = Path(os.environ.get("COURSE_DATA_DIR") or Path(__file__).resolve().parent.parent / "data")

# name -> (file, description). Provenance and licences are in data/README.md.
DATASETS = {
    "digits": ("digits.csv.gz", "8x8 handwritten digits, 1797 images, 10 classes (UCI, CC BY 4.0)"),
    "wine": ("wine.csv", "chemical analysis of 178 wines, 13 features, 3 cultivars (UCI, CC BY 4.0)"),
    "breast_cancer": ("breast_cancer.csv", "569 tumours, 30 features, malignant/benign (UCI, CC BY 4.0)"),
    "iris": ("iris.csv", "150 irises, 4 features, 3 species (UCI, CC BY 4.0)"),
}
IMAGES = {"china": "images/china.jpg", "flower": "images/flower.jpg"}

_verified: set[str] = set()


class DataError(RuntimeError):
    """A data file is missing or does not match its checksum."""


def _checksums() -> dict[str, str]:
    sums = DATA_DIR / "SHA256SUMS"
    if not sums.is_file():
        raise DataError(f"{sums} is missing: the course data folder is incomplete. "
                        "Restore data/ from the course repository (git checkout -- data).")
    out = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[name.strip().lstrip("*")] = digest
    return out


def data_file(relative: str) -> Path:
    """Path of a file in data/, after checking it against data/SHA256SUMS (once per process)."""
    path = DATA_DIR / relative
    if relative in _verified:
        return path
    if not path.is_file():
        raise DataError(f"{path} is missing. Restore it with `git checkout -- data` "
                        "or set COURSE_DATA_DIR to the folder that holds the course data.")
    expected = _checksums().get(relative)
    if expected is None:
        raise DataError(f"{relative} has no entry in {DATA_DIR / 'SHA256SUMS'}.")
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected:
        raise DataError(f"{path} does not match its checksum (got {actual[:12]}..., expected "
                        f"{expected[:12]}...). The file was changed; restore it with `git checkout -- data`.")
    _verified.add(relative)
    return path


def verify_all() -> list[Path]:
    """Check every file listed in SHA256SUMS; returns their paths, or raises DataError naming every
    file that is missing or changed (the grader runs this before grading)."""
    problems, paths = [], []
    for relative in _checksums():
        try:
            paths.append(data_file(relative))
        except DataError as err:
            problems.append(str(err))
    if problems:
        raise DataError(f"{len(problems)} course data file(s) failed their check in {DATA_DIR}: "
                        + " | ".join(problems))
    return paths


def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Load a tabular data set: returns (X float64 (N, D), y int64 (N,), class_names)."""
    if name not in DATASETS:
        raise KeyError(f"unknown data set {name!r}; choose one of {sorted(DATASETS)}")
    path = data_file(DATASETS[name][0])
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as fh:
        rows = list(csv.reader(fh))
    if name == "digits":  # no header: 64 pixel values (0..16) then the label
        table = np.asarray(rows, dtype=np.float64)
        return table[:, :-1], table[:, -1].astype(np.int64), [str(d) for d in range(10)]
    header, body = rows[0], rows[1:]  # header: n_samples, n_features, class names...
    table = np.asarray(body, dtype=np.float64)
    return table[:, :-1], table[:, -1].astype(np.int64), header[2:]


def load_image(name: str) -> np.ndarray:
    """Load a course photograph as float64 RGB in [0, 1], shape (H, W, 3)."""
    if name not in IMAGES:
        raise KeyError(f"unknown image {name!r}; choose one of {sorted(IMAGES)}")
    import matplotlib.image as mpimg
    return np.asarray(mpimg.imread(data_file(IMAGES[name])), dtype=np.float64) / 255.0


def train_test_split(X, y, test_fraction=0.25, seed=0):
    """Shuffle with a local generator and split: returns X_train, X_test, y_train, y_test."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n_test = int(round(test_fraction * len(X)))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]
