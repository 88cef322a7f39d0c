"""Correct answers earn full marks: every implementation in tests/alternatives/ (correct, but written
differently from the reference: loops, einsum, other stable formulas, other orders of operations,
Python floats vs numpy scalars, in-place updates of the function's own copies) must pass every check
of its part under many seeds, and cost no other part its points.

Each file tests/alternatives/<assignment>.py defines ALTERNATIVES = {part: {name: code}}; the code is
appended to the part's solution cell (so it redefines the function there), exactly like a mutant.
The checks are called in this process through the same request and reply path as a kernel (see
tests/sweep_mutants.py); one test per assignment also grades a notebook carrying an alternative for
every part at once through the real sandbox and the pytest harness (so no alternative costs another
part its points).

More seeds: ALTERNATIVE_SEEDS=200 .venv/bin/python -m pytest tests/test_alternatives.py, or
.venv/bin/python tests/sweep_mutants.py --alternatives --seeds 200.
"""
import contextlib
import io
import os

import pytest

from conftest import ASSIGNMENTS, REPO, full_scores, grade, scores
from grader import course, reference
from grader.kernel import InProcessSession
from sweep_mutants import load_checks, load_corpus, run_part, seed_list
from test_mutants import mutate

ALT_DIR = REPO / "tests" / "alternatives"
SEEDS = int(os.environ.get("ALTERNATIVE_SEEDS", "6"))


def cases():
    out = []
    for a in ASSIGNMENTS:
        if (ALT_DIR / f"{a}.py").is_file():
            alts = load_corpus(ALT_DIR, a)[0]
            out += [pytest.param(a, p, name, id=f"{a}-{p}-{name}") for p, named in alts.items() for name in named]
    return out


def test_every_part_has_several_alternatives(assignment):
    assert (ALT_DIR / f"{assignment}.py").is_file(), f"tests/alternatives/{assignment}.py is missing"
    alts = load_corpus(ALT_DIR, assignment)[0]
    parts = full_scores(assignment)
    for part in parts:
        assert len(alts.get(part, {})) >= 2, f"{assignment}: part {part} has fewer than two correct alternatives"
    assert set(alts) <= set(parts), f"{assignment}: alternatives for unknown parts {set(alts) - set(parts)}"


@pytest.mark.parametrize("assignment, part, name", cases())
def test_alternative_earns_full_marks(assignment, part, name):
    """Its own part, and every part that calls it (the mutants' DEPENDS), pass for every seed."""
    alts = load_corpus(ALT_DIR, assignment)[0]
    depends = load_corpus(REPO / "tests" / "mutants", assignment)[1]
    with contextlib.redirect_stdout(io.StringIO()):
        ns = reference.execute(assignment, append={f"{part}_code": alts[part][name]})
        ref = reference.load(assignment)
    session = InProcessSession(ns)
    checks = load_checks(assignment)
    affected = [part] + sorted(p for p, uses in depends.items() if part in uses)
    for seed in seed_list(SEEDS):
        for which in affected:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                problem = run_part(checks, which, session, ref, seed, explain=True)
            assert problem is None, f"correct alternative '{name}' of {part} loses {which} with seed {seed}: {problem}"


@pytest.mark.slow
def test_alternatives_earn_full_marks_through_the_sandbox(assignment, tmp_path):
    """The first alternative of every part at once, graded as a student's notebook is."""
    if not (ALT_DIR / f"{assignment}.py").is_file():
        pytest.skip("no alternatives yet")
    alts = load_corpus(ALT_DIR, assignment)[0]
    nb = course.read_notebook(course.source_notebook(assignment))
    for part, named in alts.items():
        nb = mutate(assignment, part, next(iter(named.values())), nb=nb)
    report = grade(nb, assignment, tmp_path)
    assert scores(report) == full_scores(assignment), report.to_json()
