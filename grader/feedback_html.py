"""The exporter of feedback pages: nbconvert's HTML exporter, less a pass that changes nothing in them.

nbconvert's `HTMLExporter` renders the page and then reparses all of it with BeautifulSoup (Python's
`html.parser`) for three accessibility edits: alt text for images that have none, and `tabindex` on
JupyterLab's cell input wrappers and output areas. A feedback page is 0.6-0.8 MB (the course's
notebooks, highlighted, and the template's CSS): the reparse took about half a second of every
notebook's grading, more than rendering it. nbgrader's feedback template emits neither JupyterLab's
wrappers nor images without alt text, so for its pages those edits change nothing and the page is
returned as rendered. A page that has anything they would edit goes through `HTMLExporter`'s own
path, whole. `tests/test_feedback_html.py` checks the pages are the same documents either way.
Enabled by grader/nbgrader_config.py (`GenerateFeedback.exporter_class`).
"""
from __future__ import annotations

import copy
import re

from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

# what HTMLExporter's BeautifulSoup pass edits: an <img> without alt, and JupyterLab's wrappers
EDITED = re.compile(r"<img(?![^>]*\salt\s*=)[^>]*>|jp-Cell-inputWrapper|jp-OutputArea-output", re.IGNORECASE)


class FeedbackHTMLExporter(HTMLExporter):
    def from_notebook_node(self, nb, resources=None, **kw):
        original = copy.deepcopy(resources)
        # as HTMLExporter sets up its rendering: the code highlighter and the widget-data filter
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        self.register_filter("highlight_code",
                             self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        if EDITED.search(html):
            return super().from_notebook_node(nb, original, **kw)
        return html, resources
