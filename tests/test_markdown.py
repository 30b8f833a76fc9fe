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


PORTABLE = [
    "Plain text with [[betssy-chavez]] and [[nobody|someone]].",
    "## Background\n\nText.\n\n## Background\n\n### Detail [[betssy-chavez]]\n",
    "A claim.[^1] Another.[^note]\n\n[^1]: First [[betssy-chavez]].\n[^note]: Second.\n",
    "NUL \x00 in text, [[betssy-chavez|label]], `code [[x]]`, <b>raw</b>",
    "- item [[betssy-chavez]]\n- item two\n\n> quote with [[nobody]]\n",
]


@pytest.mark.parametrize("text", PORTABLE)
@pytest.mark.parametrize("doc_id", ["", "2025-11-03-rupture"])
def test_portable_rendering_localized_for_a_page_equals_direct_rendering(text, doc_id):
    """One rendering serves every page: filling in a page's links and ids gives exactly
    the bytes of rendering the text for that page."""
    from dossier.markdown import localize, render_portable
    names = {slug: (name, kind) for slug, (_, name, kind) in TARGETS.items()}.get
    for href in ("../people/betssy-chavez.html", "#person-betssy-chavez"):
        resolver = {slug: (href, name, kind) for slug, (_, name, kind) in TARGETS.items()}.get
        assert localize(render_portable(text, False, names), doc_id, lambda s: href) == \
            render_markdown(text, resolver, doc_id)
        assert localize(render_portable(text, True, names), "", lambda s: href) == \
            render_inline(text, resolver)


def test_line_endings_and_nul_are_normalized_as_markdown_it_does():
    """The renderer's own normalize rule (markdown._normalize, without a regex match per
    line) gives what markdown-it's gives, CR, CRLF and NUL included."""
    import random

    from markdown_it.rules_core.normalize import normalize

    from dossier.markdown import renderer
    ours, theirs = renderer.__wrapped__(), renderer.__wrapped__()
    theirs.core.ruler.at("normalize", normalize)
    pieces = ["text", " ", "\n", "\r", "\r\n", "\r\r\n", "\n\r", "\0", "*", "_", "# ", "- ",
              "1. ", "> ", "`", "|", "[^1]", "[^1]: note", "[[a-slug]]", "\n\n", "    "]
    texts = ["a\r\nb\rc\nd", "x\0y", "\r\n\r\n# Title\r\n\r\n- a\r- b\r\n", "", "\0"]
    generator = random.Random(7)
    texts += ["".join(generator.choice(pieces) for _ in range(generator.randint(1, 30)))
              for _ in range(3000)]
    for text in texts:
        for inline in (False, True):
            render = "renderInline" if inline else "render"
            assert getattr(ours, render)(text, {}) == getattr(theirs, render)(text, {}), text
    assert ours.core.ruler.getRules("")[0].__name__ == "_normalize"
