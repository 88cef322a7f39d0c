"""Builders of fake student submissions for notebook 01, honest and adversarial."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat

from grader import course

A = "01_multinomial_regression"
NAME = "multinomial_regression.ipynb"


def solution():
    return copy.deepcopy(course.read_notebook(course.source_notebook(A)))


def release():
    return copy.deepcopy(course.read_notebook(course.NOTEBOOKS / A / NAME))


def cell_index(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if course.nbgrader_meta(c).get("grade_id") == grade_id)


def with_cell(nb, source, at=2):
    """Insert an extra code cell (a student's own cell) at position `at`."""
    nb.cells.insert(at, nbformat.v4.new_code_cell(source))
    return nb


def wrong_but_running(nb):
    """Every graded function returns arrays of the right shape with wrong values."""
    return with_cell(nb, """
import numpy as np
def softmax(logits): return np.full(np.shape(logits), 0.5)
def cross_entropy(logits, y): return 1.0, np.zeros(np.shape(logits))
def softmax_regression_loss(W, b, X, y, reg=0.0): return 1.0, np.zeros(np.shape(W)), np.zeros(np.shape(b))
def binary_logistic_loss(w, b, X, y): return 1.0, np.zeros(np.shape(w)), 0.0
def fit_standardizer(X): return np.zeros(np.shape(X)[1]), np.ones(np.shape(X)[1])
def standardize(X, mean, std): return np.asarray(X, dtype=float)
""", at=len(nb.cells))


def write(root: Path, student: str, nb, name=NAME, raw: bytes | None = None):
    folder = root / student / A
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if raw is not None:
        path.write_bytes(raw)
    else:
        nbformat.write(nb, str(path))
    return path


def dumps(nb) -> bytes:
    return json.dumps(nb).encode()
