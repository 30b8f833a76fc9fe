"""The Markdown renderer: wikilinks, escaping of raw HTML, unsafe URLs."""

import pytest

from dossier.markdown import render_inline, render_markdown
from dossier.wikilinks import find_wikilinks

TARGETS = {"betssy-chavez": ("../people/betssy-chavez.html", "Betssy Chávez", "person")}
resolve = TARGETS.get


@pytest.mark.parametrize("source, html", [
    ("[[betssy-chavez]]",
     '<a class="ref ref-person" href="../people/betssy-chavez.html">Betssy Chávez</a>'),
    ("[[betssy-chavez|the former minister]]",
     '<a class="ref ref-person" href="../people/betssy-chavez.html">the former minister</a>'),
    ("[[ betssy-chavez ]]",
     '<a class="ref ref-person" href="../people/betssy-chavez.html">Betssy Chávez</a>'),
    ("[[nobody]]", '<span class="broken-link">nobody</span>'),
    ("`[[betssy-chavez]]`", "<code>[[betssy-chavez]]</code>"),
    ("[[betssy-chavez|<b>x</b>]]",
     '<a class="ref ref-person" href="../people/betssy-chavez.html">&lt;b&gt;x&lt;/b&gt;</a>'),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("[x](javascript:alert(1))", "[x](javascript:alert(1))"),
    ("*a*", "<em>a</em>"),
])
def test_inline_rendering(source, html):
    assert render_inline(source, resolve) == html


def test_block_rendering_has_heading_anchors_and_footnotes():
    html = render_markdown("## The break\n\nText.[^1]\n\n[^1]: A note.\n", resolve)
    assert '<h2 id="the-break">The break</h2>' in html
    assert 'class="footnotes"' in html


def test_find_wikilinks_reports_line_offsets_and_skips_code():
    text = "a [[x]]\n`[[not]]`\n```\n[[nor]]\n```\nb [[y|Why]]"
    found = [(w.target, w.label, w.line) for w in find_wikilinks(text)]
    assert found == [("x", None, 0), ("y", "Why", 5)]
