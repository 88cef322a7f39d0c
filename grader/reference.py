"""The reference solution, loaded from solutions/ into the grader's own process.

There is no second copy of reference code: the code cells of the source notebook (without its
experiment cells and visible-check cells) are executed once per process into a fresh namespace.
"""
from __future__ import annotations

import os
import types
from functools import lru_cache

from . import course


def _python_only(source: str) -> str:
    """Drop IPython magics and shell escapes, which plain Python cannot run."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def execute(assignment: str, append: dict[str, str] | None = None) -> dict:
    """Run the source notebook's code cells (not experiments, not visible checks) in a fresh namespace.
    append: solution grade_id -> code run at the end of that cell (the course's own mutant tests)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    append = append or {}
    path = course.source_notebook(assignment)
    nb = course.read_notebook(path)
    namespace = {"__name__": f"reference_{assignment}"}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or course.is_experiment(cell) or course.is_test_cell(cell):
            continue
        source = _python_only(cell.source)
        extra = append.get(course.nbgrader_meta(cell).get("grade_id"))
        if extra:
            source += "\n\n" + extra
        code = compile(source, f"{path.name}[cell {index}]", "exec")
        exec(code, namespace)  # noqa: S102 - trusted code from the course's own solutions/
    return namespace


@lru_cache(maxsize=None)
def load(assignment: str) -> types.SimpleNamespace:
    namespace = execute(assignment)
    return types.SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("__")})
