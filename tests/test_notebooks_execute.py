"""Every solution notebook executes top to bottom without error, experiments included."""
import shutil
import time

import pytest
from nbclient import NotebookClient

from conftest import ASSIGNMENTS
from grader import course


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_notebook_executes(assignment, tmp_path):
    src = course.source_notebook(assignment)
    shutil.copy(src, tmp_path / src.name)
    nb = course.read_notebook(tmp_path / src.name)
    t0 = time.monotonic()
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    elapsed = time.monotonic() - t0
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]
    figures = sum(1 for c in nb.cells if course.is_experiment(c) for o in c.outputs if "image/png" in o.get("data", {}))
    assert figures >= 1, "the experiments made no plot"
    print(f"{assignment}: {elapsed:.1f} s, {figures} figures")
