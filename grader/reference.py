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


@lru_cache(maxsize=None)
def load(assignment: str) -> types.SimpleNamespace:
    os.environ.setdefault("MPLBACKEND", "Agg")
    path = course.source_notebook(assignment)
    nb = course.read_notebook(path)
    namespace = {"__name__": f"reference_{assignment}"}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or course.is_experiment(cell) or course.is_test_cell(cell):
            continue
        code = compile(_python_only(cell.source), f"{path.name}[cell {index}]", "exec")
        exec(code, namespace)  # noqa: S102 - trusted code from the course's own solutions/
    return types.SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("__")})
