"""The read-through book (`python -m grader site`): a page per notebook in the course order, with its
figures, every internal link resolving, no nbgrader markers, the reference solutions folded; opened from
disk in Chromium with no network, the formulas are typeset, search finds a term and figures display."""
import re
import shutil
from html.parser import HTMLParser

import pytest

from conftest import ASSIGNMENTS
from grader import site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.images = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])


def test_book_notebook_folds_solutions_and_drops_markers():
    from grader import course
    nb = site.book_notebook(course.read_notebook(course.source_notebook("01_multinomial_regression")))
    solutions = [c for c in nb.cells if course.nbgrader_meta(c).get("solution") and c.cell_type == "code"]
    assert solutions
    for cell in solutions:
        assert "hide-input" in cell.metadata["tags"]
        assert "### BEGIN SOLUTION" not in cell.source and "### END SOLUTION" not in cell.source
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    written = [c for c in site.book_notebook(course.read_notebook(course.source_notebook("04_initialization"))).cells
               if course.is_manual_cell(c)]
    assert written and all(c.source.startswith(":::{admonition} A model answer") and ":class: dropdown" in c.source
                           for c in written)


@pytest.mark.slow
def test_site_has_every_notebook_in_order_with_figures_and_working_links(book):
    out, pages, _ = book
    assert [p.name for p in pages] == ["index.html"] + [f"{a}.html" for a in ASSIGNMENTS]
    index = (out / "index.html").read_text()
    body = index[index.index('<article'):]
    order = [body.index(f'href="{a}.html"') for a in ASSIGNMENTS]
    assert order == sorted(order), "the index follows the course order"
    assert body.count("Learning goals") >= len(ASSIGNMENTS), "each notebook's learning goals are on the index"
    assert body.count("Summary") >= len(ASSIGNMENTS), "each notebook's summary is on the index"
    assert (out / "search.html").is_file() and (out / "searchindex.js").is_file()
    for page in pages:
        text = page.read_text()
        parser = Links()
        parser.feed(text)
        if page.name != "index.html":
            assert any("_images/" in src for src in parser.images), f"{page.name} has no figures"
            assert "### BEGIN SOLUTION" not in text, f"{page.name} shows nbgrader's markers"
            assert "Show the reference solution" in text, f"{page.name}: the solutions are not folded"
        assert "cdn.jsdelivr" not in text and "mathjax@" not in text, f"{page.name} loads MathJax from a CDN"
        for href in parser.hrefs:
            if re.match(r"^[a-z]+:", href) or href.startswith("#"):
                continue
            assert (page.parent / href.split("#")[0].split("?")[0]).is_file(), f"{page.name}: broken link {href}"


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_site_offline_in_a_browser_math_search_figures(book):
    from playwright.sync_api import sync_playwright
    out, _, _ = book
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(offline=True)
        outside = []
        context.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        page = context.new_page()
        page.goto((out / "05_batchnorm.html").as_uri())
        page.wait_for_function("window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 "
                               "&& document.querySelectorAll('.MathJax, .MathJax_Display').length > 10",
                               timeout=120_000)
        text = page.inner_text("article")
        assert "$$" not in text and "\\frac" not in text, "raw LaTeX in the page"
        loaded = page.evaluate("Array.from(document.querySelectorAll('article img'))"
                               ".filter(i => i.complete && i.naturalWidth > 0).length")
        assert loaded >= 1, "no figure is displayed"
        page.goto((out / "search.html").as_uri() + "?q=momentum")
        page.wait_for_selector("ul.search li", timeout=60_000)
        hits = page.locator("ul.search li a").all_inner_texts()
        assert any("optimizer" in h.lower() for h in hits), f"search for momentum found {hits}"
        browser.close()
    assert outside == [], f"the offline book requested {outside[:3]}"
