"""Every solution notebook executes top to bottom without error, experiments included.

The notebooks are executed once for the whole suite, by the book's build (the `book` fixture of
conftest.py: `python -m grader site` with a fresh cache, which executes each solution notebook in a
fresh kernel, with nbgrader's marker comments removed, and stops on the first error). This test reads
the executed notebooks back; tests/test_site.py checks the pages made of the same run."""
import pytest

from conftest import ASSIGNMENTS
from grader import course


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_notebook_executes(assignment, book):
    _, _, executed = book
    assert assignment in executed, f"the book's build did not execute {assignment}"
    nb, seconds = executed[assignment]
    source = course.read_notebook(course.source_notebook(assignment))
    code = [c for c in source.cells if c.cell_type == "code"]
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert len(ran) == len(code), "the executed notebook is not the solution notebook's code"
    assert all(c.get("execution_count") for c in ran if c.source.strip()), "a code cell did not run"
    errors = [o for c in ran for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]
    figures = sum(1 for c in ran if course.is_experiment(c) for o in c.outputs if "image/png" in o.get("data", {}))
    assert figures >= 1, "the experiments made no plot"
    print(f"{assignment}: {seconds or 0:.1f} s, {figures} figures")
