"""The contract: what is graded is what is written.

Every hidden check declares, on its `@part(...)` marker, the rules it enforces as they are written in
the release notebook (`states`: phrases found in the part's section or in the notebook's conventions)
and either the phrase of the visible check that exercises the same rule (`shown`: found in the part's
visible test cell) or why no visible check can (`unshown`). This test holds every check to that, so a
rule cannot be graded without being stated, and a stated rule cannot silently drift from the text.
"""
import importlib.util
import inspect
import re

import pytest

from conftest import ASSIGNMENTS
from grader import course


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[`*]", "", text)).strip().lower()


def release_notebook(assignment):
    return course.read_notebook(next((course.NOTEBOOKS / assignment).glob("*.ipynb")))


def sections(nb):
    """part -> (text of its section: every cell after the previous test cell up to its own test cell,
    text of its visible test cell), and the notebook's conventions (its introduction and any cell
    that holds a conventions table)."""
    out, current = {}, []
    conventions = [nb.cells[0].source] + [c.source for c in nb.cells if "conventions" in c.source.lower()
                                          and c.cell_type == "markdown"]
    for cell in nb.cells:
        if course.is_test_cell(cell):
            out[course.nbgrader_meta(cell)["grade_id"]] = (normalize("\n".join(current)), normalize(cell.source))
            current = []
        else:
            current.append(cell.source)
    return out, normalize("\n".join(conventions))


def declared_checks(assignment):
    path = course.check_module(assignment)
    spec = importlib.util.spec_from_file_location(f"contract_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, fn in inspect.getmembers(module, inspect.isfunction):
        for mark in getattr(fn, "pytestmark", []):
            if mark.name == "part":
                yield name, mark.args[0], mark.kwargs


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_check_states_its_rules_in_the_release(assignment):
    by_part, conventions = sections(release_notebook(assignment))
    problems = []
    for name, part, contract in declared_checks(assignment):
        if part not in by_part:
            problems.append(f"{name}: part {part!r} has no test cell in the release")
            continue
        section, visible = by_part[part]
        states, shown, unshown = contract.get("states", ()), contract.get("shown", ()), contract.get("unshown", "")
        if not states:
            problems.append(f"{name}: no `states` (the rules it enforces, as the release words them)")
        for phrase in states:
            if normalize(phrase) not in section and normalize(phrase) not in conventions:
                problems.append(f"{name}: states {phrase!r}, which the release does not say in part {part}'s "
                                "section or the conventions")
        if not shown and not unshown:
            problems.append(f"{name}: neither `shown` (the visible check of its rule) nor `unshown` (why none)")
        for phrase in shown:
            if normalize(phrase) not in visible:
                problems.append(f"{name}: shown {phrase!r} is not in part {part}'s visible test cell")
    assert not problems, f"{assignment}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_notebook_states_the_shared_rules_and_its_sources(assignment):
    """The plain-data rule is in the conventions (with its visible check); the notebook ends with its
    sources, and speaks of them by name (never of "the seed(s)" or "the lecture notes", which learners
    do not have)."""
    nb = release_notebook(assignment)
    _, conventions = sections(nb)
    assert "plain data" in conventions and "check_plain_data" in conventions, \
        f"{assignment}: the conventions must state the plain-data rule and name check_plain_data"
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("## Sources and further reading"), \
        f"{assignment}: the last cell must be '## Sources and further reading'"
    assert "http" in last.source, f"{assignment}: the sources carry links"
    text = "\n".join(c.source for c in nb.cells).lower()
    for phrase in ("the seed's", "the seeds'", "the seeds ", "lecture notes", "source notes"):
        assert phrase not in text, f"{assignment}: says {phrase!r}; cite the lecture or paper by name"
