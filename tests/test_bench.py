"""The benchmark command runs and prints its tables (the figures themselves are reported in the
README from idle runs; timings are never asserted)."""
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO

# The notebook the bench runs on: the shortest to execute and grade (9 code cells, no torch.optim), with
# figures; the bench's smoke test executes it once, checks it, grades it twice and runs stock nbgrader on it.
NOTEBOOK = "04_initialization"


@pytest.mark.slow
def test_bench_prints_its_tables(tmp_path):
    env = dict(os.environ, COURSE_WORK_DIR=str(tmp_path / "work"))
    proc = subprocess.run([sys.executable, "-m", "grader", "bench", NOTEBOOK, "--class-size", "1"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    # execute, kernel CPU, slowest cell, peak MiB, grade, check total, check start-up, grade/execute, then the score
    assert re.search(rf"{NOTEBOOK}(\s+[\d.]+){{8}}\s+(\d+)/\2\s", out), out  # full marks
    assert re.search(r"the 1 notebook named, executed: [\d.]+ s", out), out
    assert re.search(rf"slowest cell: [\d.]+ s, {NOTEBOOK} cell \d+", out), out
    assert re.search(r"check start-up .*: median [\d.]+ s", out), out
    assert re.search(rf"largest kernel peak: \d+ MiB \({NOTEBOOK}\); .* about \d+ students per 16 GiB", out), out
    for mode in ("autograde, 1 worker", "autograde, 2 workers", "stock nbgrader autograde, sequential"):
        assert re.search(re.escape(mode) + r"\s+[\d.]+\s+[\d.]+", out), out
    assert re.search(r"parallel efficiency with 2 workers: [\d.]+ .*target >= 0.9: (met|NOT met)", out), out
    assert re.search(rf"{NOTEBOOK}(\s+[\d.]+){{8}}\s+\d+/\d+\s+(met|NOT met)", out), out
    assert re.search(r"whole `autograde --workers 1` command against bare execution: [\d.]+ \(target <= 0.5: "
                     r"(met|NOT met)\)", out), out
    assert re.search(r"its phases \(s\): release [\d.]+, probe [\d.]+, verification [\d.]+, grading [\d.]+, "
                     r"feedback [\d.]+", out), out
    assert "verification, within grading: the references graded because a submission lost a part, none" in out
    assert re.search(rf"this machine has {os.cpu_count()} core", out), out
    for workers in (2, 16, 64):  # the projected class: minutes per phase, then the total in minutes and hours
        assert re.search(rf"^{workers}\s+([\d.]+\s+){{5}}[\d.]+\s*$", out, re.M), out
    assert not (REPO / "gradebook.db").exists()
    check_profile(out, NOTEBOOK)


def _row(table, name, fields):
    """The numbers of `name`'s row in a printed table of `fields` columns after the name (None for -)."""
    cells = r"\s+".join([r"([\d.]+|-)"] * fields)
    match = re.search(rf"^{re.escape(name)}\s+{cells}\s*$", table, re.M)
    assert match, (name, table)
    return [None if x == "-" else float(x) for x in match.groups()]


def check_profile(out, notebook):
    """The profile of the bench's execution: the wall parts (kernel start, imports, drawing, torch._dynamo,
    rest, kernel stop) add up to the execute figure of the first table, the CPU parts to its kernel CPU plus
    the start, and the floor line is the kernel start plus the imports. Figures are printed to 0.1 s, so
    a sum of n of them may differ from its printed total by n times 0.05."""
    assert "Where the execution time goes (seconds, wall)" in out, out
    wall, rest = out.split("Where the execution time goes (seconds, wall)")[1].split("The same parts in the kernel's CPU")
    cpu, floor = rest.split("\nfloor (")
    assert re.search(r"^notebook\s+kernel start\s+imports\s+drawing\s+torch\._dynamo\s+rest\s+kernel stop\s+execute\s*$",
                     wall, re.M), wall
    execute, kernel_cpu = (float(x) for x in re.search(rf"^{notebook}\s+([\d.]+)\s+([\d.]+)\s", out, re.M).groups())
    *parts, total = _row(wall, notebook, 7)
    assert _row(wall, "total", 7) == parts + [total]
    assert total == execute
    assert abs(sum(p or 0.0 for p in parts) - total) <= 0.05 * 7 + 1e-9, (parts, total)
    start, imports, drawing, _, _, _ = parts
    assert start > 0 and imports > 0 and drawing > 0  # the notebook's figures are drawn and measured
    *cpu_parts, cpu_total = _row(cpu, notebook, 6)
    assert _row(cpu, "total", 6) == cpu_parts + [cpu_total]
    assert abs(sum(p or 0.0 for p in cpu_parts) - cpu_total) <= 0.05 * 6 + 1e-9, (cpu_parts, cpu_total)
    assert abs(cpu_total - (kernel_cpu + cpu_parts[0])) <= 0.05 * 3 + 1e-9, (cpu_parts, cpu_total, kernel_cpu)
    match = re.match(r"kernel start \+ imports, summed over the 1 notebook named\): ([\d.]+) s \(([\d.]+) s of kernel "
                     r"CPU\), \d+% of the target of 60 s for the whole course", floor)
    assert match, floor
    assert abs(float(match.group(1)) - (start + imports)) <= 0.05 * 3 + 1e-9
    assert abs(float(match.group(2)) - (cpu_parts[0] + cpu_parts[1])) <= 0.05 * 3 + 1e-9


def test_the_projection_spreads_notebooks_over_workers_and_keeps_the_serial_phases():
    from grader import cli
    measured = {"notebooks": 2, "task_s": {"a": [4.0], "b": [2.0]}, "release_s": 5.0, "probe_s": 3.0,
                "feedback_s": 0.0, "export_s": 0.5}
    rows = {w: rest for w, *rest in cli.project_class(measured, ["a", "b"], students=10, workers=(1, 2, 20))}
    release, verification, grading, end, total = zip(*(rows[w] for w in (1, 2, 20)))
    # one worker: every notebook in turn; two: half each (60 s of work); twenty: one notebook each at most
    assert grading == (60.0, 30.0, 4.0)
    # no reference was verified in the measured run (nobody lost a part): in a large class every one is,
    # once, costing what grading a complete submission of its assignment cost
    assert verification == (6.0, 4.0, 4.0)
    assert release == (5.0,) * 3 and end == (5.0,) * 3  # the release once (the probe during it); the export per student
    assert total == (5.0 + 6.0 + 60.0 + 5.0, 5.0 + 4.0 + 30.0 + 5.0, 5.0 + 4.0 + 4.0 + 5.0)
    # a measured verification is used where there is one
    measured["verified"] = {"a": 1.0}
    assert [row[2] for row in cli.project_class(measured, ["a", "b"], students=10, workers=(1, 2))] == [3.0, 2.0]
    measured["probe_s"] = 7.0                           # a probe longer than the release sets that phase
    assert cli.project_class(measured, ["a", "b"], students=10, workers=(1,))[0][1] == 7.0
    assert cli.makespan([3, 3, 2, 2, 2], 2) == 7.0


def _small_notebook(path):
    """A notebook that draws (inline and savefig), builds a torch.optim optimizer, and ends on a value."""
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("import os, sys\nos.environ.setdefault('OMP_NUM_THREADS', '1')\n"
                                  "print('numpy' in sys.modules, 'matplotlib' in sys.modules)\n"
                                  "%matplotlib inline\nimport numpy as np\nimport torch\nimport matplotlib.pyplot as plt"),
        nbformat.v4.new_markdown_cell("A figure, shown by the inline backend, then saved."),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots(figsize=(2, 2))\nax.plot(np.arange(3), [1, 0, 2])\nplt.show()"),
        nbformat.v4.new_code_cell(""),
        nbformat.v4.new_code_cell("import io\nbuffer = io.BytesIO()\nfig.savefig(buffer, format='png')\n"
                                  "print(buffer.getvalue()[:4])"),
        nbformat.v4.new_code_cell("opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)\n"
                                  "print(type(opt).__name__, [k for k in globals() if 'bench' in k])"),
        nbformat.v4.new_code_cell("len(In), 6 * 7"),
    ]
    nbformat.write(nb, str(path))
    return nb


@pytest.mark.slow
def test_the_profile_splits_the_execution_and_leaves_the_notebook_as_it_was(tmp_path):
    """The bench's probe measures the drawing and torch._dynamo's import inside the kernel, its parts add
    up, and the notebook executes as without it: its cells numbered 1, 2, 3... with their own outputs
    only, none of its names in the namespace or the history, numpy first imported by the first cell."""
    from grader import cli
    path = tmp_path / "small.ipynb"
    _small_notebook(path)
    total, cells, cpu, peak, profile, nb = cli.execute_profiled(path)
    assert [c.get("execution_count") for c in nb.cells] == [1, None, 2, None, 3, 4, 5]
    assert [[o.output_type for o in c.get("outputs", [])] for c in nb.cells] == \
        [["stream"], [], ["display_data"], [], ["stream"], ["stream"], ["execute_result"]]
    assert nb.cells[0].outputs[0].text == "False False\n"
    assert nb.cells[2].outputs[0].data["image/png"]
    assert nb.cells[4].outputs[0].text == "b'\\x89PNG'\n"
    assert nb.cells[5].outputs[0].text == "SGD []\n"
    assert nb.cells[6].outputs[0].data["text/plain"] == "(6, 42)"  # In[0] is empty, then the five cells
    assert [index for _, index, _ in cells] == [0, 2, 4, 5, 6]  # the code cells with code, in order

    assert tuple(profile) == cli.PROFILE_PARTS
    for part, (wall, cpu_s) in profile.items():
        assert wall >= 0, (part, profile)
    assert profile["drawing"][0] > 0 and profile["drawing"][1] > 0
    assert profile["torch._dynamo"][0] > 0 and profile["torch._dynamo"][1] > 0
    assert profile["imports"][0] > 0 and profile["kernel start"][0] > 0
    assert sum(wall for wall, _ in profile.values()) == pytest.approx(total, abs=1e-9)
    assert total >= sum(seconds for seconds, _, _ in cells)
    if cpu is not None:  # /proc: the CPU parts add up to the kernel's; none below zero by more than the
        # clock ticks of the three /proc readings a part is computed from
        tick = 1 / os.sysconf("SC_CLK_TCK")
        cpu_parts = [profile[p][1] for p in cli.PROFILE_PARTS if p != "kernel stop"]
        assert all(c >= -3 * tick for c in cpu_parts), profile
        assert sum(cpu_parts) == pytest.approx(profile["kernel start"][1] + cpu, abs=1e-9)


def test_the_profile_of_a_notebook_without_torch_dynamo():
    """split_profile on measured figures: the first cell's drawing is not counted as imports, a notebook that
    never imports torch._dynamo has none, and the rest is what the other parts leave of the total."""
    from grader import cli
    kernel = {"start": (1.0, 0.5), "stop": (0.5, None), "cells": [(3.0, 0, "import os"), (4.0, 2, "train()")],
              "cpu": (0.5, 2.5, 6.0)}
    measured = {"spent": {"drawing": [1.5, 1.0], "torch._dynamo": [0.0, 0.0]},
                "first": {"drawing": [0.25, 0.25], "torch._dynamo": [0.0, 0.0]}, "dynamo": False}
    profile = cli.split_profile(8.75, kernel, measured)
    assert profile == {"kernel start": (1.0, 0.5), "imports": (2.75, 1.75), "drawing": (1.5, 1.0),
                       "torch._dynamo": None, "rest": (3.0, 2.75), "kernel stop": (0.5, None)}
    measured["dynamo"], measured["spent"]["torch._dynamo"] = True, [1.25, 1.0]
    profile = cli.split_profile(8.75, kernel, measured)
    assert profile["torch._dynamo"] == (1.25, 1.0) and profile["rest"] == (1.75, 1.75)
