"""`python -m grader site`: a static read-through of the course, built from the executed solutions.

Each solution notebook is executed (plots included) and converted to one HTML page by nbconvert; an
index page follows the course order and shows each notebook's learning goals and summary. Pages
link to the index and to their neighbours. Images are embedded, so the folder can be copied anywhere.
"""
from __future__ import annotations

import html
import shutil
import tempfile
import time
from pathlib import Path

from . import course

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
nav.course { display: flex; justify-content: space-between; padding: .5rem 0; border-bottom: 1px solid #ddd; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 1rem 1.5rem; margin: 1rem 0; }
.card h2 { margin-top: 0; }
details { margin-top: .5rem; }
"""


def _title(nb, assignment):
    first = nb.cells[0].source.splitlines()[0] if nb.cells else assignment
    return first.lstrip("# ").strip() or assignment


def _section(nb, word):
    """The markdown of the first cell whose heading mentions `word` (e.g. Summary)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and word.lower() in cell.source.splitlines()[0].lower():
            return cell.source
    return ""


def _goals(nb):
    text = nb.cells[0].source if nb.cells else ""
    return text.split("\n", 1)[1] if "\n" in text else ""


def execute(assignment, timeout=600):
    from nbclient import NotebookClient
    src = course.source_notebook(assignment)
    nb = course.read_notebook(src)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(src, Path(tmp) / src.name)
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": tmp}}).execute()
    return nb


def page_name(assignment):
    return f"{assignment}.html"


def build(out: Path, assignments=None, log=print) -> list[Path]:
    from nbconvert import HTMLExporter
    from nbconvert.filters import markdown2html
    assignments = assignments or course.assignments()
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    cards, pages = [], []
    for i, a in enumerate(assignments):
        t0 = time.monotonic()
        nb = execute(a)
        body, _ = exporter.from_notebook_node(nb)
        prev_link = f'<a href="{page_name(assignments[i - 1])}">&larr; previous</a>' if i else "<span></span>"
        next_link = (f'<a href="{page_name(assignments[i + 1])}">next &rarr;</a>'
                     if i + 1 < len(assignments) else "<span></span>")
        nav = (f'<nav class="course">{prev_link}<a href="index.html">course index</a>{next_link}</nav>')
        start = body.find("<body")
        end = body.find(">", start) + 1
        body = body[:end] + nav + body[end:]
        page = out / page_name(a)
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        title = _title(nb, a)
        cards.append(
            f'<div class="card"><h2><a href="{page_name(a)}">{html.escape(title)}</a></h2>'
            f'{markdown2html(_goals(nb))}'
            f'<details><summary>Summary</summary>{markdown2html(_section(nb, "Summary"))}</details></div>')
        log(f"{a}: executed and converted in {time.monotonic() - t0:.1f} s -> {page}")
    index = out / "index.html"
    index.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>How neural networks are trained</title>"
        f"<style>{STYLE}</style></head><body><h1>How neural networks are trained</h1>"
        "<p>A read-through of the course: every notebook with its reference solutions executed, "
        "plots included. To do the exercises, open <code>notebooks/</code> in JupyterLab instead.</p>"
        + "".join(cards) + "</body></html>", encoding="utf-8")
    return [index, *pages]


def cmd_site(args):
    out = Path(args.out)
    pages = build(out, args.assignment or None)
    print(f"site written: {pages[0]} ({len(pages) - 1} notebooks)")
    return 0

