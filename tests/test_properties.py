"""Property-based tests: random front matter, YAML and Markdown never produce a traceback,
a half-written site, or unescaped markup from content."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, run_cli, snapshot

SENTINEL = "<x-evil>"
EVENT = "content/events/2025-11-03-break.md"
SETTINGS = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
markup = st.lists(st.sampled_from([
    SENTINEL, "<script>x</script>", "[[ana-lopez]]", "[[nobody]]", "[a](https://e.org)",
    "[b](javascript:x)", "**", "_", "`", "```", "\n", "\n\n", "> ", "- ", "# ", "1. ", "|a|b|\n|-|-|",
    "[^1]", "[^1]: n", "<", ">", "&", "\"", "'", "{{", "}}", "{%", "\t", "\r\n", "\ufeff", "é",
    "---", "...", ":", "[", "]", "*x*",
]) | text, max_size=25).map("".join)
scalars = st.none() | st.booleans() | st.integers() | text | markup
yaml_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(text, inner, max_size=4), max_leaves=12)
FIELDS = ["title", "date", "summary", "participants", "location", "track", "tags", "sources",
          "quotes", "status", "conflicts", "related", "unknown", "end", "updated"]
front_matter = st.dictionaries(st.sampled_from(FIELDS), yaml_values, max_size=8)


def fresh(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(FIXTURES / "minimal", root)
    assert run_cli("--root", root).code == 0
    return root


def check_outcome(root: Path, before: dict) -> None:
    result = run_cli("--root", root)
    assert result.code in (0, 1), result
    assert "Traceback" not in result.err
    site = root / "site"
    if result.code == 1:
        assert result.lines[-1].startswith("build failed:") or result.err.startswith("error:")
        assert snapshot(site) == before
        return
    for page in site.rglob("*.html"):
        soup = BeautifulSoup(page.read_text("utf-8"), "html.parser")
        assert soup.find("x-evil") is None, page
        assert all(s.get("type") == "application/ld+json" or s.get("src") or "className" in s.string
                   for s in soup.find_all("script")), page


@SETTINGS
@given(data=front_matter, body=markup)
def test_random_front_matter_and_body(tmp_path, data, body):
    root = fresh(tmp_path)
    before = snapshot(root / "site")
    (root / EVENT).write_text("---\n" + yaml.safe_dump(data, allow_unicode=True) + "---\n" + body,
                              "utf-8")
    check_outcome(root, before)


@SETTINGS
@given(raw=markup)
def test_random_bytes_as_a_yaml_profile(tmp_path, raw):
    root = fresh(tmp_path)
    before = snapshot(root / "site")
    (root / "content/people/random.yaml").write_text(raw, "utf-8")
    check_outcome(root, before)


@SETTINGS
@given(summary=markup, body=markup, title=markup)
def test_random_markdown_in_valid_fields(tmp_path, summary, body, title):
    root = fresh(tmp_path)
    before = snapshot(root / "site")
    path = root / EVENT
    text = path.read_text("utf-8")
    head, _, _ = text.partition("\n---\n")
    head = head.replace("title: Relations broken", "title: " + yaml.safe_dump(title).strip().removesuffix("\n...").strip())
    head = head.replace('summary: "[[ruritania-government]] breaks relations."',
                        "summary: " + yaml.safe_dump(summary or "x").strip().removesuffix("\n...").strip())
    path.write_text(head + "\n---\n" + body, "utf-8")
    check_outcome(root, before)


@settings(max_examples=300, deadline=None, database=None)
@given(text | markup)
def test_search_folding_takes_no_shortcut_that_changes_a_word(value):
    """search.fold lowercases ASCII text straight (no decomposition to undo): the same
    result as the full path (NFD, marks dropped, lowercased) for any text."""
    import re
    import unicodedata
    from dossier.search import fold
    full = re.sub("[\u0300-\u036f]", "", unicodedata.normalize("NFD", value)).lower()
    assert fold(value) == full
    assert fold(value.encode("ascii", "ignore").decode()) == \
        value.encode("ascii", "ignore").decode().lower()


def test_search_folding_of_runs_equals_the_whole_text_s_for_hard_cases():
    """The cases where decomposing runs apart could differ from the whole text: marks
    after an ASCII letter, marks out of canonical order, Hangul, a final sigma."""
    import re
    import unicodedata
    from dossier.search import fold
    for value in ("José Jerí", "e\u0301t\u0316\u0301e", "a\u0301\u0316b", "한국어 ÅΣ",
                  "ΟΔΟΣ ΟΔΟΣ.", "x\u0345\u0301y", "Ǆemal ǅ", "\u212bngstr\u00f6m", "ﬁ é"):
        full = re.sub("[\u0300-\u036f]", "", unicodedata.normalize("NFD", value)).lower()
        assert fold(value) == full, value


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(text | markup | st.sampled_from(["\u00a0", " \u0301a", "\u2003é", "Σ x"]),
                max_size=4))
def test_search_words_of_distinct_tokens_are_the_whole_text_s(texts):
    """search._words folds only the distinct tokens: the same words, in the same order,
    as folding and searching the whole text."""
    import re
    from dossier.search import _words, fold
    whole = re.findall("[a-z0-9]{3,}", fold(" ".join(texts)))
    assert _words(*texts) == " ".join(dict.fromkeys(whole))


json_text = st.text(alphabet=st.characters(), max_size=40) | st.sampled_from(
    ["\ud800", "a\udfffb", "\x00\x1f\x7f\u2028\u2029", "\"\\/", "😀é"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | json_text,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(json_text, inner, max_size=4), max_leaves=16)


@settings(max_examples=500, deadline=None, database=None)
@given(json_values)
def test_json_is_what_the_standard_library_writes(value):
    """jsontext's encoders (orjson, the standard library for what orjson refuses: lone
    surrogates, integers past 64 bits) write json.dumps's text exactly."""
    import json
    from dossier import jsontext
    for encode, sort_keys in ((jsontext.compact, False), (jsontext.compact_sorted, True)):
        assert encode(value) == json.dumps(value, ensure_ascii=False, sort_keys=sort_keys,
                                           separators=(",", ":"))


def test_json_refuses_what_the_standard_library_refuses():
    """Values orjson alone would encode (a dataclass, a date) raise TypeError as json's
    do; nesting too deep for orjson is the standard library's to write."""
    import dataclasses
    import datetime
    import json
    import pytest
    from dossier import jsontext

    @dataclasses.dataclass
    class Point:
        x: int
    for value in (Point(1), datetime.date(2025, 11, 3), {"when": datetime.datetime(2025, 1, 1)}):
        for encode in (jsontext.compact, jsontext.compact_sorted):
            with pytest.raises(TypeError):
                encode(value)
    deep: list = []
    for _ in range(300):
        deep = [deep]
    assert jsontext.compact(deep) == json.dumps(deep, separators=(",", ":"))


def test_every_fast_pickled_dataclass_comes_back_equal():
    """The model's frozen slotted dataclasses are pickled as their field values, in
    order (cache._reducer: the cache, and the records prepare's worker sends): each comes
    back equal, field by field, whatever its number of fields (one: a tuple of one)."""
    import copyreg
    import dataclasses
    import pickle
    from dossier import cache  # noqa: F401 - registers the reducers
    classes = [c for c in copyreg.dispatch_table if dataclasses.is_dataclass(c)]
    assert len(classes) > 20 and min(len(dataclasses.fields(c)) for c in classes) == 1
    for cls in classes:
        fields = [f.name for f in dataclasses.fields(cls)]
        instance = object.__new__(cls)
        for number, name in enumerate(fields):
            object.__setattr__(instance, name, ("value", number))
        back = pickle.loads(pickle.dumps(instance, protocol=pickle.HIGHEST_PROTOCOL))
        assert type(back) is cls
        assert [getattr(back, name) for name in fields] == \
            [("value", number) for number in range(len(fields))], cls
