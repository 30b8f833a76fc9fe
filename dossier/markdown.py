"""The one configured Markdown renderer: CommonMark, raw HTML off, footnotes, [[wikilinks]].

Wikilinks are resolved through a callback passed in ``env`` so that rendering stays
pure and every link is relative to the page being rendered. markdown-it is imported and
configured when the first text is rendered: an edit whose Markdown is all in the cache
(a title, a date, a profile's name) never needs it (0.025 s of each such build).
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Callable

from .wikilinks import WIKILINK_RE, allowed_target

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_inline import StateInline

# Resolver: target slug -> (relative href, display name, kind) or None if unknown.
Resolver = Callable[[str], "tuple[str, str, str] | None"]


def _wikilink_rule(state: "StateInline", silent: bool) -> bool:
    if not state.src.startswith("[[", state.pos):
        return False
    match = WIKILINK_RE.match(state.src, state.pos)
    if not match:
        return False
    if not silent:
        token = state.push("wikilink", "", 0)
        token.meta = {"target": match.group(1).strip(),
                      "label": (match.group(2) or "").strip() or None}
    state.pos = match.end()
    return True


def _render_wikilink(self, tokens, idx, options, env) -> str:
    meta = tokens[idx].meta
    resolved = env.get("resolve", lambda _t: None)(meta["target"])
    if resolved is None:
        text = meta["label"] or meta["target"]
        return f'<span class="broken-link">{_escape(text)}</span>'
    href, name, kind = resolved
    label = meta["label"] or name
    return f'<a class="ref ref-{kind}" href="{_escape(href)}">{_escape(label)}</a>'


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _slugify_heading(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


@functools.cache
def renderer() -> "MarkdownIt":
    """The single Markdown configuration of the project (made once, when first used)."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.footnote import footnote_plugin
    md = (MarkdownIt("commonmark", {"html": False, "typographer": False})
          .enable("table").enable("strikethrough")
          .use(footnote_plugin))
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.add_render_rule("wikilink", _render_wikilink)
    md.validateLink = lambda url: allowed_target(url.strip())  # no javascript:, data:, ../
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("heading_open", _render_heading_open)
    md.core.ruler.at("normalize", _normalize)
    return md


def _normalize(state) -> None:
    """markdown-it's own first rule, the same result: line endings CRLF and CR become LF,
    NUL becomes U+FFFD. Its regular expression replaced every LF by an LF, one match per
    line of every text: 0.19 s of a 10,000-event build's CPU; texts without CR or NUL are
    left as they are here."""
    text = state.src
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in text:
        text = text.replace("\0", "\ufffd")
    state.src = text


def _render_heading_open(self, tokens, idx, options, env) -> str:
    """h2 and h3 get ids from their text, prefixed per document (env['docId']) so that
    many bodies in one file (the single-file edition) never share an id."""
    token = tokens[idx]
    if token.tag in ("h2", "h3") and idx + 1 < len(tokens):
        base = _slugify_heading(tokens[idx + 1].content)
        if env.get("docId"):
            base = f"{env['docId']}-{base}"
        used = env.setdefault("_ids", {})
        used[base] = used.get(base, 0) + 1
        token.attrSet("id", base if used[base] == 1 else f"{base}-{used[base]}")
    return self.renderToken(tokens, idx, options, env)


def _render_link_open(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    if (token.attrGet("href") or "").lower().startswith(("https://", "http://")):
        token.attrSet("rel", "external noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


def _tokens(text: str, inline: bool) -> list:
    md = renderer()
    return md.parseInline(text, {}) if inline else md.parse(text, {})


def render_markdown(text: str, resolve: Resolver, doc_id: str = "") -> str:
    """Render a Markdown block (event body, profile summary) to HTML; ``doc_id`` prefixes
    footnote and heading ids when several documents share one page."""
    env = {"resolve": resolve, "docId": doc_id} if doc_id else {"resolve": resolve}
    return renderer().renderer.render(_tokens(text, False), renderer().options, env)


def render_inline(text: str, resolve: Resolver) -> str:
    """Render one line of Markdown (a summary sentence) without a wrapping <p>."""
    return renderer().renderer.render(_tokens(text, True), renderer().options,
                                      {"resolve": resolve})


# Portable HTML: rendered once for every page. Links to records and the document id are
# left as placeholders that ``localize`` fills in for one page. NUL cannot come from the
# text: the Markdown parser replaces it with U+FFFD.
_DOC = "\x00D"
_LINK = re.compile("\x00L([^\x00]*)\x00")


def render_portable(text: str, inline: bool, names: Callable[[str], "tuple[str, str] | None"]) -> str:
    """Markdown as HTML for any page: ``names(target)`` gives a link target's (name, kind)
    or None when it does not exist; hrefs and ids are placeholders (see ``localize``)."""
    def resolve(target: str):
        found = names(target)
        return None if found is None else (f"\x00L{target}\x00", *found)
    return render_inline(text, resolve) if inline else render_markdown(text, resolve, _DOC)


def localize(html: str, doc_id: str, href: Callable[[str], str]) -> str:
    """Portable HTML for one page: ``href(slug)`` links each record, ``doc_id`` prefixes
    heading and footnote ids (none when empty): the bytes ``render_markdown`` makes."""
    if "\x00" not in html:
        return html
    if doc_id:
        html = html.replace(_DOC, doc_id)
    else:
        html = html.replace(f"-{_DOC}-", "").replace(f"{_DOC}-", "")
    return _LINK.sub(lambda match: _escape(href(match.group(1))), html)
