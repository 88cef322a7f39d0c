"""Grading skips the cells tagged `experiment` (they only make plots); skipping them changes no score."""
import pytest

from conftest import full_scores, grade, scores
from test_mutants import load_mutants, mutate

A = "01_multinomial_regression"


@pytest.mark.slow
@pytest.mark.parametrize("which", ["solution", "softmax", "standardize"])
def test_skipping_experiments_changes_no_score(which, tmp_path):
    if which == "solution":
        from grader import course
        make = lambda: course.read_notebook(course.source_notebook(A))  # noqa: E731
    else:
        mutants, _ = load_mutants(A)
        name = next(iter(mutants[which]))
        make = lambda: mutate(A, which, mutants[which][name])  # noqa: E731
    skipped = grade(make(), A, tmp_path, seed=1234)
    full = grade(make(), A, tmp_path, seed=1234, run_experiments=True, notebook_timeout=900)
    assert scores(skipped) == scores(full)
    if which == "solution":
        assert scores(full) == full_scores(A)
