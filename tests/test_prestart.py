"""The kernel started ahead: nbgrader's autograde launches the submission's sandboxed kernel before it
prepares the submission (grading.prestart_kernel, through the pre-convert hook worker.make_api sets),
and grading takes that kernel instead of starting a second one. It must be the kernel grading would have
started (same folder, sandbox and limits), see what nbgrader writes into the folder after the launch, and
never outlive an autograde that did not take it."""
import os
import time

import pytest

from grader import cli, course, grading
from grader.kernel import KernelSession
from grader.sandbox import Limits, choose_sandbox

A = "04_initialization"


def _alive(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def _wait_gone(pid, seconds=10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _launches(monkeypatch):
    launched = []
    real = KernelSession.launch

    def launch(self):
        launched.append(self)
        return real(self)
    monkeypatch.setattr(KernelSession, "launch", launch)
    return launched


def test_a_kernel_launched_ahead_sees_files_written_after_it_and_is_taken(tmp_path):
    folder = tmp_path / "autograded" / "alice" / A
    folder.mkdir(parents=True)
    sandbox = choose_sandbox()
    grading.prestart_kernel(folder, sandbox)
    (folder / "given.txt").write_text("copied after the launch")  # as nbgrader copies the assignment's files
    session, since = grading._take_prestarted(folder, type(sandbox)())
    assert session is not None and since <= time.monotonic()
    assert grading._take_prestarted(folder, sandbox) == (None, None), "a kernel is taken once"
    with session:
        outputs, _ = session.run_cell("import os; print(open('given.txt').read(), os.getcwd())")
        text = "".join(o.get("text", "") for o in outputs)
        assert "copied after the launch" in text
        if sandbox.name == "bubblewrap":
            assert text.split()[-1] == f"/home/student/{A}"
    assert session.km is None


def test_kernels_not_taken_or_of_another_sandbox_are_killed(tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    sandbox = choose_sandbox()
    grading.prestart_kernel(folder, sandbox)
    session, _ = grading._prestarted[str(folder.resolve())]
    pid = session.km.provisioner.process.pid
    grading.discard_prestarted()
    assert grading._prestarted == {} and _wait_gone(pid)

    grading.prestart_kernel(folder, sandbox)
    session, _ = grading._prestarted[str(folder.resolve())]
    pid = session.km.provisioner.process.pid
    other = type(sandbox)(Limits(memory_bytes=2 * 2**30))
    assert grading._take_prestarted(folder, other) == (None, None), "limits differ: not the same kernel"
    assert _wait_gone(pid)


@pytest.mark.slow
def test_check_grades_in_the_kernel_launched_ahead_and_leaves_none(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(course, "WORK", tmp_path / "work")
    launched = _launches(monkeypatch)
    ahead = []
    real = grading.prestart_kernel
    monkeypatch.setattr(grading, "prestart_kernel", lambda *a, **k: ahead.append(a) or real(*a, **k))
    report = cli.grade_one(course.source_notebook(A), seed=5)
    assert report["score"] == report["max_score"] > 0
    assert len(ahead) == 1 and len(launched) == 1, "grading started a second kernel"
    assert ahead[0][0].name == A and ahead[0][0].parent.name == "self"
    assert launched[0].km is None and grading._prestarted == {}


@pytest.mark.slow
def test_an_autograde_that_fails_after_the_launch_leaves_no_kernel(tmp_path, monkeypatch):
    monkeypatch.setattr(course, "WORK", tmp_path / "work")
    launched = _launches(monkeypatch)
    from grader import nbgrader_plugin

    def broken(self, nb, resources):
        raise RuntimeError("the sanitize pass failed")
    monkeypatch.setattr(nbgrader_plugin.FlagEditedTestCells, "preprocess", broken)
    with pytest.raises(cli.NbgraderFailed):
        cli.grade_one(course.source_notebook(A), seed=5)
    assert len(launched) == 1 and launched[0].km is None and grading._prestarted == {}
