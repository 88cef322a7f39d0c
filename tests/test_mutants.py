"""Every hidden check fails on plausible wrong implementations: each mutant of a part loses that
part's points, and only that part's (and those of parts declared to call the broken function)."""
import copy

import pytest

from conftest import ASSIGNMENTS, REPO, full_scores, grade, scores
from grader import course
from sweep_mutants import load_corpus

MUTANT_DIR = REPO / "tests" / "mutants"


def load_mutants(assignment):
    return load_corpus(MUTANT_DIR, assignment)


def cases():
    out = []
    for a in ASSIGNMENTS:
        if (MUTANT_DIR / f"{a}.py").is_file():
            mutants, _ = load_mutants(a)
            out += [pytest.param(a, p, name, id=f"{a}-{p}-{name}") for p, ms in mutants.items() for name in ms]
    return out


def test_every_part_has_at_least_two_mutants(assignment):
    assert (MUTANT_DIR / f"{assignment}.py").is_file(), f"tests/mutants/{assignment}.py is missing"
    mutants, depends = load_mutants(assignment)
    parts = full_scores(assignment)
    for part in parts:
        assert len(mutants.get(part, {})) >= 2, f"{assignment}: part {part} has fewer than two mutants"
    assert set(mutants) <= set(parts)
    assert set(depends) <= set(parts) and all(set(v) <= set(parts) for v in depends.values())


def mutate(assignment, part, code, nb=None):
    """The source notebook (or `nb`) with `code` appended to the solution cell of `part`."""
    nb = copy.deepcopy(nb if nb is not None else course.read_notebook(course.source_notebook(assignment)))
    cells = [c for c in nb.cells if course.nbgrader_meta(c).get("grade_id") == f"{part}_code"]
    assert len(cells) == 1, f"{assignment}: no solution cell {part}_code"
    cells[0].source += "\n\n# --- mutant ---\n" + code
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("assignment, part, name", cases())
def test_mutant_loses_exactly_its_part(assignment, part, name, tmp_path):
    mutants, depends = load_mutants(assignment)
    report = grade(mutate(assignment, part, mutants[part][name]), assignment, tmp_path)
    got, full = scores(report), full_scores(assignment)
    assert got[part] == 0, f"mutant '{name}' kept the points of {part}: {report.to_json()}"
    broken = {part} | {p for p, uses in depends.items() if part in uses}
    for other, points in full.items():
        if other not in broken:
            assert got[other] == points, f"mutant of {part} '{name}' cost {other} its points: {report.to_json()}"
