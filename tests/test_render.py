"""The template environment: its shortened call path passes what Jinja's would."""

import shutil

import jinja2
import pytest

from dossier.errors import TemplateFailure
from markupsafe import Markup, escape

from dossier.escaping import escape_text, fast_escape, safe
from dossier.render import make_environment


class Helper:
    """Stands in for ``here``: plain methods, and one that asks Jinja for the context."""

    def twice(self, text, sep="-"):
        return f"{text}{sep}{text}"

    @jinja2.pass_context
    def greeting(self, context, name):
        return f"{context['salutation']}, {name}"

    def empty(self):
        raise StopIteration


def render(source: str, **context) -> str:
    env = make_environment({"page.html": source, "macros.html":
                            "{% macro box(x, label='box') %}[{{ label }}:{{ x }}]{% endmacro %}"})
    return env.get_template("page.html").render(helper=Helper(), **context)


def test_methods_get_their_arguments_and_keywords():
    assert render("{{ helper.twice('a') }} {{ helper.twice('b', sep='+') }}") == "a-a b+b"


def test_a_method_that_asks_for_the_context_gets_it():
    assert render("{{ helper.greeting('Ana') }}", salutation="Hola") == "Hola, Ana"


def test_macros_called_in_loops_see_their_arguments_and_autoescape():
    source = ("{% import 'macros.html' as m %}{% for x in xs %}{{ m.box(x) }}"
              "{{ m.box(x, label='<b>') }}{% endfor %}{% macro local(y) %}({{ y }}){% endmacro %}"
              "{{ local(1) }}")
    assert render(source, xs=["<i>", 2]) == \
        "[box:&lt;i&gt;][&lt;b&gt;:&lt;i&gt;][box:2][&lt;b&gt;:2](1)"


def test_a_callable_that_raises_stopiteration_is_undefined_as_in_jinja():
    with pytest.raises(jinja2.UndefinedError):
        render("{{ helper.empty() }}")


def test_a_macro_called_with_an_unknown_keyword_still_fails():
    with pytest.raises((TypeError, TemplateFailure)):
        render("{% import 'macros.html' as m %}{{ m.box(1, colour='red') }}")




MACROS = """{% macro one(x) %}<{{ x }}>{% endmacro %}
{% macro two(x, label='box', n=3) %}[{{ label }}:{{ x }}:{{ n }}]{% endmacro %}
{% macro calls(x) %}({{ x }}{{ caller() }}){% endmacro %}
{% macro rest(x) %}{{ x }}{{ varargs|join(',') }}{{ kwargs|dictsort|join(',') }}{% endmacro %}
{% macro raw(x) %}{% autoescape false %}{{ x }}{% endautoescape %}{% endmacro %}"""
CALLS = ["one('<a>')", "two(1)", "two(1, '<l>')", "two(1, n=4)", "two(1, label='&', n=0)",
         "two(x=2)", "two(label='y', x=5)", "rest(1, 2, 3, k=4)", "rest(1)", "raw('<b>')",
         "one(m.two(1))", "two(1, 2, 3)"]
FAILING = ["one(1, 2)", "two(1, colour='red')", "one(1, x=2)", "two(1, 2, 3, 4)"]


@pytest.mark.parametrize("call", CALLS + FAILING)
def test_macros_get_what_jinja_gives_them(call):
    """Macros called straight (render.macro_arguments: no caller, no *varargs, no
    **kwargs, only their parameters) give what Jinja's own call gives, from templates
    and through Here's lists (pages.macro_text); a call Jinja refuses still fails."""
    from dossier.pages import macro_text
    source = "{% import 'macros.html' as m %}{{ m." + call + " }}{% call m.calls(1) %}!{% endcall %}"
    plain = jinja2.Environment(loader=jinja2.DictLoader({"macros.html": MACROS, "page.html": source}),
                               autoescape=True, undefined=jinja2.StrictUndefined)
    ours = make_environment({"macros.html": MACROS, "page.html": source})
    if call in FAILING:
        with pytest.raises(TypeError):
            plain.get_template("page.html").render()
        with pytest.raises((TypeError, TemplateFailure)):
            ours.get_template("page.html").render()
        return
    assert ours.get_template("page.html").render() == plain.get_template("page.html").render()


@pytest.mark.parametrize("name, values", [("one", ("<a>",)), ("two", (1,)),
                                          ("two", (1, "<l>")), ("two", (1, "<l>", 7)),
                                          ("raw", ("<b>",)), ("rest", (1, 2)), ("rest", (1,))])
def test_macros_called_from_python_give_their_text(name, values):
    """Here's lists call their macros from Python (pages.macro_text): the text Jinja's
    own call of the macro gives."""
    from dossier.pages import macro_text
    plain = jinja2.Environment(loader=jinja2.DictLoader({"macros.html": MACROS}),
                               autoescape=True, undefined=jinja2.StrictUndefined)
    ours = make_environment({"macros.html": MACROS})
    expected = getattr(plain.get_template("macros.html").module, name)(*values)
    assert macro_text(getattr(ours.get_template("macros.html").module, name), values) == \
        str(expected)


def test_a_macro_made_otherwise_is_called_its_own_way():
    """A macro without the attributes Jinja 3.1's have (another Jinja) is left to its own
    call: pages.macro_arguments gives nothing for it."""
    from types import SimpleNamespace
    from dossier.pages import macro_arguments
    assert macro_arguments(object(), (1,), {}) is None
    older = SimpleNamespace(_argument_count=1, caller=False, catch_kwargs=False,
                            catch_varargs=False, arguments=("x",))
    assert macro_arguments(older, (1,), {}) is None


def test_a_streamed_page_is_exactly_the_page_rendered_whole(real):
    """The single-file edition is written as it renders; its bytes are those of the same
    page rendered whole, and so are the dependencies it records (with its pieces' own:
    kept with each piece) when there is a store of blocks to keep them (without one, it
    reads the dossier untracked: fewer): with its lists joined, or in blocks made as it
    goes; and
    again with every block copied from the file written first (at the span recorded for
    it), when its digest is the one the blocks gave, and any change to a block's bytes
    gives another."""
    import io
    from pathlib import Path
    from dossier import pipeline, render
    from dossier.load import load_templates
    from dossier.project import Project
    from dossier.pages import plan
    from dossier.write import Sink
    project = Project.at(Path(real), jobs=1)
    dossier, _, _, _ = pipeline.compile_dossier(project)
    templates = load_templates(project.templates)
    assert render.splice_safe(templates)
    env = make_environment(templates)
    streamed = [spec for spec in plan(dossier, "") if spec.streamed]
    assert {spec.url for spec in streamed} >= {"dossier.html", "timeline.html", "quotes.html"}
    fewer = []
    for spec in streamed:
        whole, deps = render.render_page(env, dossier, spec, {})
        digests = []
        for splice, fragments in ((False, None), (True, None), (True, {})):
            out, spans = io.BytesIO(), {}            # lists joined; in blocks, none kept or kept
            sink = Sink(out, None, spans)
            streamed_deps = render.stream_page(env, dossier, spec, {}, fragments, sink, splice)
            pieces_deps = {key for span in spans.values() for key in span[2]}
            digests.append(made := sink.finish())
            if fragments is None:
                assert set(streamed_deps) | pieces_deps <= set(deps)
                fewer += [spec.url] if set(streamed_deps) | pieces_deps < set(deps) else []
            else:
                assert set(streamed_deps) | pieces_deps == set(deps)
            assert out.getvalue() == whole, spec.url
            assert bool(spans) == splice, spec.url
        assert digests[1] == digests[2]              # a build that keeps nothing: same digest
        old = Path(real) / "previous"
        for target in (io.BytesIO(), open(Path(real) / "copy", "wb")):  # copied by the kernel
            old.write_bytes(whole)
            again = {}
            with target:
                sink = Sink(target, old, again)
                found = render.stream_page(env, dossier, spec, {}, spans, sink, True)
                assert set(found) == set(streamed_deps)
                assert sink.finish() == made
                sink.close()
                written = target.getvalue() if isinstance(target, io.BytesIO) else None
            written = written or (Path(real) / "copy").read_bytes()
            assert written == whole and again == spans, spec.url
        key, (offset, length, keys, piece_digest) = next(iter(spans.items()))
        changed = {**spans, key: (offset, length, keys, bytes(16))}
        sink = Sink(io.BytesIO(), old, {})
        render.stream_page(env, dossier, spec, {}, changed, sink, True)
        assert sink.finish() != made
    assert len(whole) > 5_000 and "dossier.html" in fewer


def test_timeline_marks_go_in_the_first_row_free_and_never_overlap(tmp_path):
    """Packing a lane (charts._pack): events are placed in the order of their first day,
    each in the lowest row whose last mark ends more than 3 px before it starts, else in
    a new row; so no two marks of a row overlap. Checked on a generated dossier of 320
    events, whose lanes run to many rows, with some dated 'before' (their marks start at
    the left edge) and 'after' (they run to the right edge)."""
    from dataclasses import replace
    from dossier import charts, pipeline
    from dossier.project import Project
    from generate import generate
    generate(tmp_path, 320)
    dossier = pipeline.compile_dossier(Project.at(tmp_path))[0]
    events = [replace(e, when=replace(e.when, qualifier="before" if i % 23 == 5 else
                                      "after" if i % 41 == 7 else e.when.qualifier))
              for i, e in enumerate(dossier.events)]
    spans = {e.slug: charts.span(e) for e in events}
    scale = charts._Scale(min(s[0] for s in spans.values()) - 3,
                          max(s[1] for s in spans.values()) + 3, charts.LABEL, charts.WIDTH - 16)
    lanes = {t.slug: i for i, t in enumerate(dossier.site.tracks)}
    placed = charts._pack(events, spans, scale, lambda e: lanes.get(e.track, len(lanes)))

    def extent(event):
        first, last = spans[event.slug]
        if event.when.qualifier == "before":
            return scale.left, scale.at(first) + 6
        if event.when.qualifier == "after":
            return scale.at(first) - 6, scale.right
        return scale.at(first) - 6, max(scale.at(last + 1), scale.at(first) + 6)
    ends: dict = {}
    for event in sorted(events, key=lambda e: (spans[e.slug][0], e.slug)):
        lane, row = placed[event.slug]
        x1, x2 = extent(event)
        rows = ends.setdefault(lane, [])
        free = [i for i, end in enumerate(rows) if end + 3 < x1]
        assert row == (free[0] if free else len(rows)), event.slug
        rows[row:row + 1] = [x2]
    assert max(len(rows) for rows in ends.values()) > 5


def test_the_timeline_chart_is_kept_while_what_it_draws_is_unchanged(real):
    """The charts' memo entries are kept under a fingerprint of what they lay out and
    the titles they name: a body edit reuses the chart, a new date redraws it, a new
    title names its mark afresh, and that mark alone."""
    from dataclasses import replace
    from pathlib import Path
    from dossier import charts as charts_module
    from dossier import pipeline
    from dossier.pages import Here
    from dossier.project import Project
    dossier, _, _, _ = pipeline.compile_dossier(Project.at(Path(real), jobs=1))
    memo = {}
    first = Here(dossier, "timeline.html", memo=memo).timeline_charts()
    (key, (charts, fingerprint)), = memo.items()
    assert type(fingerprint[0]) is bytes and len(fingerprint[0]) == 16
    assert fingerprint[1] == tuple(e.title for e in dossier.events)

    def with_event(**changes):
        events = (replace(dossier.events[0], **changes), *dossier.events[1:])
        return replace(dossier, events=events)
    memo[key] = ([(caption, "kept") for caption, _ in charts], fingerprint)
    body_edit = Here(with_event(body="Another body."), "timeline.html", memo=memo)
    assert [str(svg) for _, svg in body_edit.timeline_charts()] == ["kept"] * len(charts)
    for when in (replace(dossier.events[0].when, display="early that month"),
                 replace(dossier.events[0].when, end=dossier.events[-1].when.start)):
        memo[key] = ([(caption, "kept") for caption, _ in charts], fingerprint)
        moved = Here(with_event(when=when), "timeline.html", memo=memo).timeline_charts()
        assert [str(svg) for _, svg in moved] != ["kept"] * len(charts)
    memo[key] = ([(caption, str(svg)) for caption, svg in first], fingerprint)
    retitled = with_event(title="A new title")
    renamed = [str(svg) for _, svg in Here(retitled, "timeline.html", memo=memo).timeline_charts()]
    assert "A new title" in renamed[0] and renamed != [str(svg) for _, svg in first]
    assert renamed == [str(svg) for _, svg in Here(retitled, "timeline.html").timeline_charts()]
    named = []
    real_label = charts_module._label
    charts_module._label = lambda event: named.append(event.slug) or real_label(event)
    try:
        memo[key] = ([(caption, str(svg)) for caption, svg in first], fingerprint)
        Here(retitled, "timeline.html", memo=memo).timeline_charts()
    finally:
        charts_module._label = real_label
    assert set(named) == {dossier.events[0].slug}           # its mark alone named afresh


def test_chart_names_and_links_escaped_together_are_each_escaped():
    """A chart's marks' names and links are escaped in one pass (charts._escaped): each
    comes out as escaping it alone gives, a text holding a NUL too."""
    from html import escape as html_escape
    from dossier import charts
    for texts in (['a & b', '<"x">', "it's", "", "plain"], ["a\0b & c", "<d>"], [], [""]):
        assert charts._escaped(texts) == [html_escape(t, quote=True) for t in texts]


def test_layouts_made_ahead_are_taken_only_by_the_dossier_they_fit(real, monkeypatch):
    """pages.charts_ahead lays the timeline charts out from validated content, as plain
    values: a dossier in that order takes them (take_layouts) and draws exactly what it
    lays out itself; one whose events are in another order does not take them; and with
    the timeline page's charts in the memo under the same key, nothing is laid out, and
    the key it found is the one a page takes: a dossier given it draws from the memo
    without taking the key again."""
    from dataclasses import replace
    from pathlib import Path
    from dossier import pages, pipeline
    from dossier.pages import Here
    from dossier.project import Project
    found = []
    dossier = pipeline.compile_dossier(Project.at(Path(real), jobs=1),
                                       validated=found.append)[0]
    key, task = pages.charts_ahead(found[0], {})
    made = task()
    assert key == made[0] == pages.timeline_key(dossier.site.tracks, dossier.events)
    for url in ("timeline.html", "dossier.html"):
        taker = replace(dossier)
        pages.take_layouts(taker, made)
        assert "timeline" in taker.drawn
        here = (pages.SingleHere if url == "dossier.html" else Here)(taker, url)
        alone = (pages.SingleHere if url == "dossier.html" else Here)(replace(dossier), url)
        assert [str(svg) for _, svg in here.timeline_charts()] == \
            [str(svg) for _, svg in alone.timeline_charts()]
    other = replace(dossier, events=dossier.events[::-1])
    pages.take_layouts(other, made)
    assert "timeline" not in other.drawn
    memo = {}
    charts = [str(svg) for _, svg in Here(dossier, "timeline.html", memo=memo).timeline_charts()]
    assert pages.charts_ahead(found[0], memo) == (key, None)
    given = replace(dossier)
    pages.take_layouts(given, None, key)
    monkeypatch.setattr(pages, "timeline_key", None)       # not taken again
    assert [str(svg) for _, svg in Here(given, "timeline.html", memo=memo).timeline_charts()] \
        == charts


def test_a_template_error_in_a_streamed_page_leaves_the_site_and_no_temporary_file(real):
    """An update writes large files into a spool folder beside the site as they are made;
    a build that fails leaves the site as it was and removes the spool."""
    from conftest import build, snapshot
    assert build(real).code == 0
    before = snapshot(real / "site")
    (real / "content/events/2025-11-police-guard-mexican-embassy.md").write_text(
        (real / "content/events/2025-11-police-guard-mexican-embassy.md").read_text("utf-8")
        + "\nOne more line.\n", "utf-8")
    single = real / "templates/single.html"
    single.write_text(single.read_text("utf-8").replace(
        "</main>", "{{ site.no_such_field }}</main>"), "utf-8")
    result = build(real)
    assert result.code == 1 and "templates/single.html" in result.err
    assert snapshot(real / "site") == before
    assert not list(real.glob(".site.tmp-*"))


def test_an_update_leaves_the_files_it_replaced_to_be_deleted_out_of_the_way(real,
                                                                            monkeypatch):
    """A large file an update replaces is exchanged with the new one, so the old one ends
    up in the spool folder and is freed when that is deleted, on a thread, while the build
    saves its cache (renamed over, dossier.html was freed on the spot: 0.03 s at 10,000
    events). The thread is done when the build returns; the site equals a clean build."""
    import threading
    from conftest import build, snapshot
    from dossier import write
    assert build(real).code == 0
    old = (real / "site/dossier.html").read_bytes()
    deleted = []
    real_delete = write._delete_ours

    def deleting(folder):
        single = folder / "dossier.html"
        deleted.append((threading.current_thread() is threading.main_thread(),
                        single.is_file() and single.read_bytes() == old))
        real_delete(folder)
    monkeypatch.setattr(write, "_delete_ours", deleting)
    event = real / "content/events/2025-11-police-guard-mexican-embassy.md"
    event.write_text(event.read_text("utf-8") + "\nOne more line.\n", "utf-8")
    assert build(real).code == 0
    assert deleted == [(False, True)]                   # on a thread, the old bytes
    assert (real / "site/dossier.html").read_bytes() != old
    assert not list(real.glob(".site.tmp-*"))
    monkeypatch.undo()
    clean = real.parent / "clean"
    shutil.copytree(real / "content", clean / "content")
    for folder in ("templates", "assets"):
        shutil.copytree(real / folder, clean / folder)
    assert build(clean, "--no-cache").code == 0
    assert snapshot(real / "site") == snapshot(clean / "site")


def _pages_held(real, monkeypatch) -> tuple[int, int, list[str]]:
    """Build the real dossier without a cache on one process; (pages rendered, helpers
    made, the pages whose helper (Here) is still held when the build ends, before the
    collector resumes)."""
    import weakref
    from pathlib import Path
    from dossier import pages, pipeline
    from dossier.project import Project
    made, held = [], []
    real_init, real_build = pages.Here.__init__, pipeline._build

    def recorded(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        made.append(weakref.ref(self))

    def looked(*args, **kwargs):
        report = real_build(*args, **kwargs)
        held.extend(sorted(ref().page for ref in made if ref() is not None))
        return report
    monkeypatch.setattr(pages.Here, "__init__", recorded)
    monkeypatch.setattr(pipeline, "_build", looked)
    report = pipeline.build(Project.at(Path(real), jobs=1), use_cache=False)
    assert report.rendered == len(made) > 10
    return report.rendered, len(made), held


def test_rendering_frees_the_cycles_its_pages_leave_while_the_collector_is_paused(
        real, monkeypatch):
    """Cycles a page leaves (here Jinja's contexts and their macros, as when they are
    not emptied) would be kept by the paused collector to the end of the build;
    rendering sweeps them every SWEEP_EVERY pages."""
    import jinja2
    from dossier import render
    monkeypatch.setattr(render, "SWEEP_EVERY", 2)
    monkeypatch.setattr(render._Context, "__init__", jinja2.runtime.Context.__init__)
    _, made, held = _pages_held(real, monkeypatch)
    assert len(held) <= 2, f"{len(held)} of {made} pages' helpers still held"


@pytest.mark.parametrize("emptying_min", [10, 10 ** 9])
def test_each_page_is_freed_as_it_ends_without_the_collector(real, monkeypatch, emptying_min):
    """Jinja's contexts (the page's, its includes' and its imports') are emptied once the
    page is made, so that no page's helper is left in a cycle for a sweep to find; a
    render of fewer than EMPTYING_MIN pages (an edit's) leaves them to the process's end."""
    from dossier import render
    monkeypatch.setattr(render, "SWEEP_EVERY", 10 ** 9)      # never swept
    monkeypatch.setattr(render, "EMPTYING_MIN", emptying_min)  # (the real dossier: 64 pages)
    rendered, made, held = _pages_held(real, monkeypatch)
    if emptying_min < rendered:
        assert not held, f"{len(held)} of {made} pages' helpers still held: {held[:5]}"
    else:
        assert len(held) > made // 2


def test_emptied_contexts_leave_imports_and_recursive_macros_as_jinja_renders_them():
    """A module imported without context is Jinja's own, kept between pages; a macro
    may call itself. Emptying each page's contexts changes neither."""
    from dossier.render import _generated
    env = make_environment({
        "page.html": "{% import 'macros.html' as kept %}{% import 'macros.html' as mine "
                     "with context %}{% from 'macros.html' import box %}{% macro count(n) %}"
                     "{{ n }}{% if n %},{{ count(n - 1) }}{% endif %}{% endmacro %}"
                     "{% set y = x * 2 %}{{ kept.box(x) }}{{ mine.box(y) }}{{ box(x, 'b') }}"
                     "{{ count(x) }}{% include 'part.html' %}",
        "part.html": "{% import 'macros.html' as m with context %}<{{ m.box(y) }}>",
        "macros.html": "{% macro box(x, label='box') %}[{{ label }}:{{ x }}]{% endmacro %}"})
    template = env.get_template("page.html")
    for x in (1, 3, 2):
        expected = jinja2.Template.render(template, x=x)
        assert "".join(_generated(template, {"x": x})) == expected
        assert expected.startswith(f"[box:{x}]") and expected.endswith(f"[box:{2 * x}]>")


class Html:
    def __html__(self):
        return "<i>safe</i>"


class Text(str):
    """A str subclass: escaped like any string, through markupsafe's own path."""


@pytest.mark.parametrize("value", [
    "plain", "", "<a href=\"x\">Tom & Jerry's</a>", "Jerí — “quoted”", Markup("<b>kept</b>"),
    Text("<sub>"), 42, 3.5, None, Html(), ["<list>"],
])
def test_fast_escape_equals_markupsafe_escape(value):
    ours = fast_escape(value)
    assert ours == escape(value) and type(ours) is Markup
    text = escape_text(value)
    assert text == str(escape(value)) and type(text) is str


def test_safe_is_markup_of_the_same_text():
    made = safe("<b>x</b>")
    assert type(made) is Markup and made == Markup("<b>x</b>")


def test_templates_output_through_fast_escape():
    env = make_environment({"page.html": "{{ x }}|{{ y }}"})
    template = env.get_template("page.html")
    assert template.root_render_func.__globals__["escape"] is fast_escape
    assert template.render(x="<&>", y=Markup("<br>")) == "&lt;&amp;&gt;|<br>"


def test_the_timeline_filters_are_made_when_the_page_reads_them(real):
    """Planning makes every page's context, and an edit renders few of them: the
    timeline's filter menus (a pass over every event and participant) are made when
    the timeline renders, once, and a missing one is an error, not an empty menu."""
    from pathlib import Path
    from dossier import pipeline
    from dossier.load import load_templates
    from dossier.incremental import signature
    from dossier.pages import Later, plan
    from dossier.project import Project
    from dossier.render import render_page
    project = Project.at(Path(real), jobs=1)
    dossier, _, _, _ = pipeline.compile_dossier(project)
    spec = next(s for s in plan(dossier, "") if s.url == "timeline.html")
    filters = spec.context["filters"]
    assert isinstance(filters, Later) and filters._made is None
    signature(spec)                                       # planning takes it: not made
    assert filters._made is None
    html, _ = render_page(make_environment(load_templates(project.templates)), dossier, spec, {})
    assert filters._made is not None and filters.people == filters["people"]
    assert b'<option value="betssy-chavez">Betssy Ch\xc3\xa1vez</option>' in html
    made = filters._made
    assert filters.tags is made["tags"] and filters._made is made
    with pytest.raises(AttributeError):
        filters.nobody


def test_links_are_made_once_per_folder_and_each_dossier_has_its_own(real):
    """Here.ref and Here.url keep what they make in Dossier.hrefs, by folder: any page
    of a folder gets the same link, a link to a page's own anchor is never kept for the
    others, and a dossier made anew (by replace, as serve's preview and the site URL
    do) starts with none of the old one's."""
    from dataclasses import replace
    from pathlib import Path
    from dossier import pipeline
    from dossier.pages import Here, SingleHere
    from dossier.project import Project
    from dossier.urls import relative
    dossier, _, _, _ = pipeline.compile_dossier(Project.at(Path(real), jobs=1))
    person = dossier.people[0].slug
    first, second = (Here(dossier, f"events/{e.slug}.html") for e in dossier.events[:2])
    assert first.ref(person) == second.ref(person) == f"../people/{person}.html"
    assert dossier.hrefs["events"][person] == f"../people/{person}.html"
    assert f"rec:{person}" in first.deps and f"rec:{person}" in second.deps
    for order in ((("quotes.html", "#q-x"), ("index.html", "quotes.html#q-x")),
                  (("index.html", "quotes.html#q-x"), ("quotes.html", "#q-x"))):
        for page, expected in order:
            assert Here(dossier, page).url("quotes.html#q-x") == expected
            assert Here(dossier, page).url("sources.html") == "sources.html"
    for page in ("index.html", "events/a.html", "people/b.html"):
        for target in ("quotes.html#q-x", "sources.html", "assets/style.css"):
            assert Here(dossier, page).url(target) == relative(page, target)
    for _ in range(2):                            # the single-file edition: anchors
        assert SingleHere(dossier, "dossier.html").ref(person) == f"#person-{person}"
        assert Here(dossier, "index.html").ref(person) == f"people/{person}.html"
    again = replace(dossier, site=dossier.site)
    assert again.hrefs == {} and dossier.hrefs
    assert again == dossier


def test_plain_text_is_kept_per_dossier_and_records_the_same_reads(real):
    """pages.plain keeps what it made by text (Dossier.plains): asked again, through a
    tracked dossier, it records the very keys it recorded the first time (a link with
    no label of its own is looked up; one with a label is not). pages.plain_words (an
    event's body, for the search index) makes the same text with its own whitespace,
    records the same reads, and keeps nothing."""
    from dataclasses import replace
    from pathlib import Path
    from dossier import pipeline
    from dossier.deps import TrackedDossier
    from dossier.pages import plain, plain_words
    from dossier.project import Project
    dossier, _, _, _ = pipeline.compile_dossier(Project.at(Path(real), jobs=1))
    person, event = dossier.people[0], dossier.events[0]
    text = (f"**Met** [[{person.slug}]] and [[{event.slug}|that day]], "
            f"not [[nobody-at-all]], in `code` [[ {person.slug} ]].")
    expected = (f"Met {person.name} and that day, not nobody-at-all, in code "
                f"{person.name}.")
    reads = []
    for _ in range(2):
        deps: set[str] = set()
        assert plain(TrackedDossier(dossier, deps), text) == expected
        reads.append(deps)
    assert reads[0] == reads[1] == {f"rec:{person.slug}", "rec:nobody-at-all"}
    assert plain(dossier, text) == expected and text in dossier.plains
    deps = set()
    assert plain(TrackedDossier(dossier, deps), "no links") == "no links" and deps == set()
    body = text.replace(" and ", "\n\n  and\t")       # a body for the search index:
    deps = set()                                        # its own whitespace, not kept
    words = plain_words(TrackedDossier(dossier, deps), body)
    assert words.split() == expected.split() and "\n\n  and\t" in words
    assert body not in dossier.plains and deps == reads[0]
    assert replace(dossier, site=dossier.site).plains == {}


def test_markdown_shown_again_is_the_same_and_found_once_per_dossier(real, monkeypatch):
    """Here.markdown and Here.inline keep what they found in the memo, or rendered, by
    (inline, text) in Dossier.rendered: a text shown again, on a page of any folder,
    inline or as a block, is what a dossier made anew (which keeps nothing) shows, with
    the same dependency keys, and the memo is asked for each text once."""
    from dataclasses import replace
    from pathlib import Path
    from dossier import pages, pipeline
    from dossier.pages import Here, SingleHere
    from dossier.project import Project
    dossier, _, _, _ = pipeline.compile_dossier(Project.at(Path(real), jobs=1))
    asked, original = [], pages.portable
    monkeypatch.setattr(pages, "portable", lambda memo, names, text, inline, *rest: (
        names is dossier and asked.append((inline, text)),
        original(memo, names, text, inline, *rest))[1])
    profiles = [p for p in (*dossier.people, *dossier.organizations) if "[[" in p.summary]
    assert profiles and any("\n\n" not in p.summary for p in dossier.people)
    memo: dict = {}
    for _ in range(2):
        for profile in (*dossier.people, *dossier.organizations):
            first = profile.summary.split("\n\n")[0]
            for page, show in (("people.html", lambda here: here.inline(first)),
                               (f"people/{profile.slug}.html",
                                lambda here: here.markdown(profile.summary)),
                               ("index.html", lambda here: here.markdown(profile.summary)),
                               ("dossier.html", lambda here: here.markdown(profile.summary,
                                                                          profile.slug))):
                kind = SingleHere if page == "dossier.html" else Here
                here, fresh = kind(dossier, page, memo=memo), kind(
                    replace(dossier, site=dossier.site), page)
                assert show(here) == show(fresh) and here.deps == fresh.deps, page
    assert sorted(asked) == sorted(set(asked)) and len(asked) == len(dossier.rendered)
    assert any(inline for inline, _ in asked) and not all(inline for inline, _ in asked)
    assert replace(dossier, site=dossier.site).rendered == {}


def test_a_record_page_planned_alone_is_the_one_the_plan_makes(real):
    """After a prose edit the build plans only the pages it renders again
    (pages.record_page, by URL): each is the spec the whole plan makes."""
    from pathlib import Path
    from dossier import pipeline
    from dossier.pages import fixed_pages, plan, record_page, record_pages
    from dossier.project import Project
    dossier, _, _, _ = pipeline.compile_dossier(Project.at(Path(real), jobs=1))
    whole, fixed, records = plan(dossier, "css"), fixed_pages(dossier, "css"), \
        record_pages(dossier)
    assert [spec.url for spec in whole] == [spec.url for spec in fixed + records]
    assert whole[len(fixed):] == records
    assert len(records) == len(dossier.entities) > 40
    for spec in records:
        assert record_page(dossier, spec.url) == spec
    assert not any(spec.streamed for spec in records)
    for url in ("events/nobody.html", f"people/{dossier.events[0].slug}.html"):
        with pytest.raises(KeyError):
            record_page(dossier, url)


def test_the_relationship_map_is_kept_while_who_appears_with_whom_is_unchanged(real, monkeypatch):
    """The map shows people, organizations and how many events they share, never an
    event: an event's new title or body, or the events in another order, keep it (the
    list under it reads the new title, and lists the events in the new order), a
    participant added draws it again, and a name changed draws it again from the pairs
    it has (who appears with whom is not looked for again)."""
    from dataclasses import replace
    from pathlib import Path
    from dossier import charts, pipeline
    from dossier.model import Participant, Ref
    from dossier.pages import Here
    from dossier.project import Project
    dossier, _, _, _ = pipeline.compile_dossier(Project.at(Path(real), jobs=1))
    memo = {}
    svg, pairs, count = Here(dossier, "people.html", memo=memo).network()
    assert pairs and count
    first = pairs
    (key, (value, fingerprint)), = memo.items()
    memo[key] = (("kept", *value[1:]), fingerprint)
    shared = next(iter(pairs.values()))[0]

    def edited(**changes):
        event = replace(shared, **changes)
        return replace(dossier, events=tuple(event if e is shared else e for e in dossier.events),
                       entities={**dossier.entities, shared.slug: event})
    retitled = edited(title="A title never seen")
    svg, pairs, _ = Here(retitled, "people.html", memo=memo).network()
    assert str(svg) == "kept"
    assert any(e.title == "A title never seen" for events in pairs.values() for e in events)
    # the events in reverse order: a pair's events too, and the map is kept
    backwards = tuple(reversed(dossier.events))
    reordered = replace(dossier, events=backwards,
                        event_index={e.slug: i for i, e in enumerate(backwards)})
    svg, moved, _ = Here(reordered, "people.html", memo=memo).network()
    assert str(svg) == "kept"
    assert moved == Here(reordered, "people.html", memo={}).network()[1]
    assert any(len(events) > 1 for events in moved.values())
    assert moved == {pair: events[::-1] for pair, events in first.items()}
    other = next(p for p in dossier.people if p.slug not in {x.ref.slug for x in shared.participants})
    joined = edited(participants=(*shared.participants,
                                  Participant(Ref(other.slug, "participants", None), None)))
    assert str(Here(joined, "people.html", memo=memo).network()[0]) != "kept"
    memo[key] = (("kept", *value[1:]), fingerprint)
    people = tuple(replace(p, name=p.name + " Jr.") for p in dossier.people)
    renamed = replace(dossier, people=people,
                      entities={**dossier.entities, **{p.slug: p for p in people}})
    found = []
    monkeypatch.setattr(charts, "network_pairs",
                        lambda d, real=charts.network_pairs: found.append(1) or real(d))
    svg, pairs, _ = Here(renamed, "people.html", memo=memo).network()
    assert found == [] and " Jr." in str(svg)
    fresh_svg, fresh_pairs, _ = Here(renamed, "people.html", memo={}).network()
    assert str(svg) == str(fresh_svg) and pairs == fresh_pairs
    assert found == [1]


def _pairs_by_definition(dossier, limit):
    """Every pair that shares an event, with those events; the pairs among the ``limit``
    names that share the most (by the sum of their pairs' events); how many pairs."""
    from collections import Counter, defaultdict
    everyone = defaultdict(list)
    for event in dossier.events:
        slugs = sorted({p.ref.slug for p in event.participants})
        for i, a in enumerate(slugs):
            for b in slugs[i + 1:]:
                everyone[(a, b)].append(event)
    weight = Counter()
    for (a, b), events in everyone.items():
        weight[a] += len(events)
        weight[b] += len(events)
    keep = {slug for slug, _ in sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]}
    kept = {pair: events for pair, events in sorted(everyone.items())
            if len(weight) <= limit or (pair[0] in keep and pair[1] in keep)}
    return kept, len(everyone)


@pytest.mark.parametrize("limit", [2, 3, 5, 8, 40])
def test_the_map_keeps_the_best_connected_pairs_as_defined(real, limit):
    """network_pairs weighs names without making every pair: the same pairs, events, order
    and count as making them all, with ties and duplicate participants, on the real
    dossier and on one whose events have their participants rotated."""
    from dataclasses import replace
    from pathlib import Path
    from dossier import charts, pipeline
    from dossier.project import Project
    dossier, _, _, _ = pipeline.compile_dossier(Project.at(Path(real), jobs=1))
    everyone = [p for e in dossier.events for p in e.participants]
    rotated = tuple(replace(e, participants=(*e.participants, *everyone[i % len(everyone):][:i % 4],
                                             *e.participants[:1]))
                    for i, e in enumerate(dossier.events))
    for case in (dossier, replace(dossier, events=rotated)):
        kept, count = charts.network_pairs(case, limit)
        assert (kept, count) == _pairs_by_definition(case, limit)
        assert list(kept) == sorted(kept) and count >= len(kept) > 0
        if limit <= 3:                                   # some names left out
            assert len(kept) < count

