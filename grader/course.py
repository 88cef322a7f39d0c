"""Where things are: the course's folders and its assignments, found from this file."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
NOTEBOOKS = REPO / "notebooks"
DATA = REPO / "data"
CHECKS = Path(__file__).resolve().parent / "checks"
CONFIG = Path(__file__).resolve().parent / "nbgrader_config.py"
WORK = Path(os.environ.get("COURSE_WORK_DIR") or REPO / ".grader-work")

EXPERIMENT_TAG = "experiment"


def assignments() -> list[str]:
    """Assignment ids in course order: the folders of solutions/ that hold a notebook."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def source_notebook(assignment: str) -> Path:
    """The one notebook of an assignment in solutions/."""
    found = sorted((SOLUTIONS / assignment).glob("*.ipynb"))
    if len(found) != 1:
        raise FileNotFoundError(f"solutions/{assignment}/ should hold exactly one notebook, found {len(found)}")
    return found[0]


def check_module(assignment: str) -> Path:
    return CHECKS / f"test_{assignment}.py"


def is_experiment(cell) -> bool:
    return cell.get("cell_type") == "code" and EXPERIMENT_TAG in cell.get("metadata", {}).get("tags", [])


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_test_cell(cell) -> bool:
    """An autograded test cell: a graded, non-solution code cell (one graded part each)."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def graded_parts(nb) -> dict[str, float]:
    """grade_id -> points of every test cell of a notebook, in order."""
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c).get("points", 0))
            for c in nb.cells if is_test_cell(c)}


def is_manual_cell(cell) -> bool:
    """A manually graded answer: a graded solution cell (a written answer the instructor marks in the
    formgrader); never autograded, never scored by the hidden checks."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and bool(meta.get("solution"))


def manual_parts(nb) -> dict[str, float]:
    """grade_id -> points of every manually graded answer cell of a notebook, in order."""
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c).get("points", 0))
            for c in nb.cells if is_manual_cell(c)}


UNANSWERED = "YOUR ANSWER HERE"


def answered(cell) -> bool:
    """Whether a student wrote something in an answer cell (it is not empty or nbgrader's stub)."""
    text = cell.get("source", "").strip()
    return bool(text) and text != UNANSWERED


def read_notebook(path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)
