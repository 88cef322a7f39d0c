"""Grading skips the cells tagged `experiment` (they only make plots); skipping them changes no score,
whether every part passes (the reference) or some fail (a mutant in softmax, the first part, and one in
standardize, a later one)."""
import pytest

from conftest import full_scores, grade, scores
from test_mutants import load_mutants, mutate

A = "01_multinomial_regression"
BROKEN = ("softmax", "standardize")


@pytest.mark.slow
@pytest.mark.parametrize("which", ["solution", "mutants"])
def test_skipping_experiments_changes_no_score(which, tmp_path):
    from grader import course
    if which == "solution":
        make = lambda: course.read_notebook(course.source_notebook(A))  # noqa: E731
    else:
        mutants, _ = load_mutants(A)

        def make():
            nb = course.read_notebook(course.source_notebook(A))
            for part in BROKEN:
                nb = mutate(A, part, next(iter(mutants[part].values())), nb=nb)
            return nb
    skipped = grade(make(), A, tmp_path, seed=1234)
    full = grade(make(), A, tmp_path, seed=1234, run_experiments=True, notebook_timeout=900)
    assert scores(skipped) == scores(full)
    if which == "solution":
        assert scores(full) == full_scores(A)
    else:   # each mutant loses its part, and the other parts keep theirs, either way
        assert {p for p, s in scores(full).items() if s == 0} == set(BROKEN), scores(full)
