"""The read-through site: a page per notebook, with its figures, and every internal link resolves."""
import re
from html.parser import HTMLParser

import pytest

from conftest import ASSIGNMENTS
from grader import site


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.images = [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "img" and (attrs.get("src") or "").startswith("data:image/"):
            self.images += 1


@pytest.mark.slow
def test_site_has_every_notebook_with_figures_and_working_links(tmp_path):
    pages = site.build(tmp_path / "site", log=lambda *_: None)
    names = {p.name for p in pages}
    assert names == {"index.html"} | {f"{a}.html" for a in ASSIGNMENTS}
    index = (tmp_path / "site" / "index.html").read_text()
    order = [index.index(f'href="{a}.html"') for a in ASSIGNMENTS]
    assert order == sorted(order), "the index follows the course order"
    assert index.count('class="card"') == len(ASSIGNMENTS)
    assert index.count("<summary>Summary</summary>") == len(ASSIGNMENTS)
    assert index.count("<li>") >= 2 * len(ASSIGNMENTS), "each card lists the notebook's learning goals"
    for page in pages:
        parser = Links()
        parser.feed(page.read_text())
        if page.name != "index.html":
            assert parser.images >= 1, f"{page.name} has no figures"
            assert "index.html" in parser.hrefs
        for href in parser.hrefs:
            if re.match(r"^[a-z]+:", href) or href.startswith("#"):
                continue
            assert (page.parent / href.split("#")[0]).is_file(), f"{page.name}: broken link {href}"
