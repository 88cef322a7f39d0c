"""A student's session in a real browser: JupyterLab (the course's command) in Debian's Chromium,
driven by Playwright. Fill in a stub correctly, run all cells, press Validate, see success; then
a wrong answer and see the failure. Screenshots go to $COURSE_ARTIFACTS (default: tests/artifacts/)."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from grader import course

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
A, NAME = "01_multinomial_regression", "multinomial_regression.ipynb"
ARTIFACTS = Path(os.environ.get("COURSE_ARTIFACTS") or REPO / "tests" / "artifacts")
WRONG = '''def softmax(logits):
    """A wrong answer: forgets to normalize."""
    return np.exp(logits - logits.max(axis=1, keepdims=True))
'''

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"),
]


def prepared_course(root: Path) -> str:
    """A student's copy of notebook 01 where every part but softmax is already done (written answers
    included: Validate asks for them); returns the correct softmax cell source that the browser will type in."""
    release = course.read_notebook(course.NOTEBOOKS / A / NAME)
    solution = course.read_notebook(course.source_notebook(A))
    answers = {course.nbgrader_meta(c).get("grade_id"): c.source for c in solution.cells}
    softmax = None
    for cell in release.cells:
        gid = course.nbgrader_meta(cell).get("grade_id", "")
        if gid == "softmax_code":
            softmax = answers[gid]
        elif gid.endswith("_code") or course.is_manual_cell(cell):  # stubs done, written answers written
            cell.source = answers[gid]
    folder = root / "notebooks" / A
    folder.mkdir(parents=True)
    nbformat.write(release, str(folder / NAME))
    return softmax


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("student")
    answer = prepared_course(root)
    port, token = free_port(), "course-test-token"
    cmd = [sys.executable, "-m", "grader", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    else:
        os.killpg(proc.pid, 9)
        pytest.fail("JupyterLab did not start")
    yield base, token, answer
    os.killpg(proc.pid, 15)
    proc.wait(timeout=30)


def set_cell(page, marker, source):
    cell = page.locator(".jp-Notebook .jp-Cell").filter(has_text=marker).first
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(source)  # no key events: CodeMirror does not re-indent the text


QUEUED_OR_RUNNING = ("() => Array.from(document.querySelectorAll('.jp-Notebook .jp-InputPrompt'))"
                     ".some(p => p.innerText.includes('[*]'))")


def prompts(page):
    return page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()


def run_all_and_validate(page):
    """Run all cells, wait until they have run (a prompt showed [*] or took a new number, and none shows
    [*] any more), save (wait until the notebook is no longer marked as changed), press Validate and
    wait for its verdict."""
    before = prompts(page)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_function(f"(before) => ({QUEUED_OR_RUNNING})() || Array.from("
                           "document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt'))"
                           ".some((p, i) => p.innerText !== before[i])", arg=before, timeout=60_000)
    page.wait_for_function(f"() => !({QUEUED_OR_RUNNING})()", timeout=300_000)
    assert prompts(page) != before, "Run All Cells ran nothing"
    page.keyboard.press("Control+S")
    page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')", timeout=60_000)
    page.get_by_role("button", name="Validate").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=300_000)
    dialog.locator(".jp-Dialog-body").wait_for(timeout=300_000)
    page.wait_for_function("() => !document.querySelector('.jp-Dialog').innerText.includes('Validating')",
                           timeout=300_000)
    return dialog


def test_a_student_validates_right_and_wrong_answers(lab):
    playwright = pytest.importorskip("playwright.sync_api")
    base, token, answer = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/notebooks/{A}/{NAME}?token={token}")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
        page.get_by_role("button", name="Validate").first.wait_for(timeout=120_000)
        # the kernel has started and is idle (the toolbar's execution indicator), so Run All runs at once
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=120_000)

        set_cell(page, "def softmax(logits)", answer)
        dialog = run_all_and_validate(page)
        page.screenshot(path=str(ARTIFACTS / "validate-correct.png"))
        text = dialog.inner_text()
        assert "Success" in text and "passes" in text, text
        dialog.get_by_role("button").last.click()

        set_cell(page, "def softmax(logits)", WRONG)
        dialog = run_all_and_validate(page)
        page.screenshot(path=str(ARTIFACTS / "validate-wrong.png"))
        text = dialog.inner_text()
        assert "Success" not in text and "failed" in text and "softmax" in text, text
        browser.close()
