"""Feedback pages (grader/feedback_html.py): the course's exporter returns the same documents as
nbconvert's HTMLExporter, skipping only its BeautifulSoup reparse where that reparse edits nothing."""
import base64

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter, html as nbconvert_html
from traitlets.config import Config

from grader import course
from grader.feedback_html import FeedbackHTMLExporter

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


def _export(exporter_class, nb, template, monkeypatch):
    """(html, how many times the exporter reparsed its page with BeautifulSoup)."""
    calls = []
    real = nbconvert_html.BeautifulSoup
    monkeypatch.setattr(nbconvert_html, "BeautifulSoup", lambda *a, **k: calls.append(1) or real(*a, **k))
    config = Config()
    config.HTMLExporter.template_name = template
    html, _ = exporter_class(config=config).from_notebook_node(nb)
    return html, len(calls)


def _notebook(with_image=False):
    nb = course.read_notebook(course.source_notebook("04_initialization"))
    if with_image:
        cell = next(c for c in nb.cells if c.cell_type == "code")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG})]
    return nb


def test_a_page_the_reparse_would_not_change_is_the_same_document_without_it(monkeypatch):
    nb = _notebook()
    theirs, reparsed = _export(HTMLExporter, nb, "classic", monkeypatch)
    ours, ours_reparsed = _export(FeedbackHTMLExporter, nb, "classic", monkeypatch)
    assert reparsed == 1 and ours_reparsed == 0
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs


@pytest.mark.parametrize("template, with_image", [("classic", True), ("lab", False)])
def test_a_page_the_reparse_edits_goes_through_nbconverts_own_path(template, with_image, monkeypatch):
    nb = _notebook(with_image)
    theirs, _ = _export(HTMLExporter, nb, template, monkeypatch)
    ours, reparsed = _export(FeedbackHTMLExporter, nb, template, monkeypatch)
    assert reparsed == 1 and ours == theirs
    assert ("No description has been provided" in ours) == with_image
