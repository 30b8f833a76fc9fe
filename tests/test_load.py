"""Loading: front matter splitting with line numbers, YAML with marks, file-level problems."""

import os
import time

import pytest
import yaml

from dossier.errors import ContentProblem
from dossier import load
from dossier.load import Record, parse_record, split_front_matter
from dossier.yamlmarks import MarkedLoader, YAMLLimitError, parse_yaml

from conftest import drop_pages


def test_front_matter_split_keeps_file_line_numbers():
    text = "---\ntitle: A\ndate: 2025\n---\nBody line one\nline two\n"
    yaml_text, body, body_line = split_front_matter(text)
    assert body == "Body line one\nline two\n"
    assert body_line == 5
    data = parse_yaml(yaml_text)
    assert data.line_of("title") == 2 and data.line_of("date") == 3


def test_front_matter_absent_or_unclosed():
    assert split_front_matter("title: x\n") is None
    assert split_front_matter("---\ntitle: x\n") is None


def test_yaml_lines_for_nested_items():
    data = parse_yaml("a: 1\nlist:\n  - x: 1\n  - y\n")
    assert data.line_of("list") == 2
    assert data["list"].line_of(0) == 3 and data["list"].line_of(1) == 4
    assert data["list"][0].line_of("x") == 3


def test_yaml_keeps_dates_as_text():
    data = parse_yaml("a: 2025-11-03\nb: 2025-11\nc: 2025\n")
    assert data == {"a": "2025-11-03", "b": "2025-11", "c": 2025}


SCALARS = ("a: 1\nb: yes\nc: No\nd: ~\ne: null\nf: 1.5\ng: .inf\nh: 0x1f\ni: '1'\n"
           "j: \"yes\"\nk: word\nl: ''\nm: -3\nn: 1.0e+3\no: [true, 'true', 0o17, +1, .NaN, ]\n"
           "p: 1_000\nq: 0b101\nr: On\ns: 'null'\nt: a long plain scalar, longer than forty "
           "characters, true\n")


def test_yaml_scalars_resolve_as_pyyaml_does_every_time():
    """Plain scalars' tags are kept by text (MarkedLoader.resolve): the second parse,
    from the kept tags, gives what PyYAML's own safe loader gives."""
    expected = repr(yaml.safe_load(SCALARS))
    assert "True" in expected and "1000" in expected and "'1'" in expected
    assert repr(parse_yaml(SCALARS)) == expected
    assert repr(parse_yaml(SCALARS)) == expected
    assert not MarkedLoader.yaml_path_resolvers       # (descend_resolver follows none)


def test_short_strings_are_one_object_across_files_and_records():
    """Keys, roles and slugs parsed from two files, and the field paths and link targets
    validation makes of them, are the same objects (interned): pickle writes each once.
    A long text is left as it is. Validated records share one empty mapping for the
    parsed YAML they no longer keep."""
    import pickle
    from dossier.validate import outcome
    long = "a summary that is much longer than forty characters, as prose is"
    text = ("---\ntitle: T\ndate: 2025-11-03\nsummary: " + long + " [[person-a]]\n"
            "participants:\n  - ref: person-a\n    role: actor\nsources: [source-a]\n"
            "quotes:\n  - {speaker: person-a, text: Hi., said: 2025-11-03, source: source-a}\n"
            "---\n"
            "Body with [[person-a]].\n")
    first, second = (outcome(parse_record("event", f"content/events/e{n}.md", f"e{n}",
                                          text), "en") for n in (1, 2))
    one, two = first.validated[0], second.validated[0]
    assert one.participants[0].role is two.participants[0].role == "actor"
    assert one.participants[0].ref.slug is two.participants[0].ref.slug == "person-a"
    assert one.participants[0].ref.field is two.participants[0].ref.field
    assert one.sources[0].source.field is two.sources[0].source.field
    assert one.quotes[0].field is two.quotes[0].field == "quotes[0].text"
    assert first.validated[2][0] is second.validated[2][0] == "person-a"
    assert one.line_of[0][0] is two.line_of[0][0] == "title"
    assert one.summary == two.summary and one.summary is not two.summary
    assert first.data is second.data == {}              # no YAML kept: one empty mapping
    both = pickle.dumps((first, second))                # each short string written once
    assert both.count(b"\x8c\x08person-a") == 1 and both.count(b"\x8c\x05actor") == 1
    assert both.count(b"LineDict") == 1


def event(text: str):
    return parse_record("event", "content/events/x.md", "x", text)


def test_bom_and_crlf_are_accepted():
    record = event("\ufeff---\r\ntitle: A\r\ndate: 2025\r\n---\r\nBody\r\n")
    assert isinstance(record, Record)
    assert record.data["title"] == "A"
    assert record.body == "Body\n" and record.body_line == 5


@pytest.mark.parametrize("text, expected", [
    ("", "content/events/x.md:1: empty file: an event starts with a '---' line, its YAML "
         "fields, and a closing '---' line"),
    ("---\ntitle: A\n", "content/events/x.md:1: no front matter: an event starts with a "
                        "'---' line, its YAML fields, and a closing '---' line"),
    ("---\ntitle: A\ntitle: B\n---\n", "content/events/x.md:3: invalid YAML: duplicate key "
                                       "'title'"),
    ("---\n- a\n- b\n---\n", "content/events/x.md:1: expected YAML fields (key: value), "
                             "got a LineList"),
])
def test_file_level_problems_name_file_and_line(text, expected):
    problem = event(text)
    assert isinstance(problem, ContentProblem)
    assert str(problem) == expected


def test_tab_indentation_is_explained():
    problem = parse_record("person", "content/people/p.yaml", "p", "name: A\nsources:\n\t- x\n")
    assert isinstance(problem, ContentProblem)
    assert problem.line == 3
    assert "indent with spaces, not tabs" in problem.message


def test_yaml_syntax_error_names_where_the_construct_started():
    problem = event("---\ntitle: [unclosed\ndate: 2025\n---\n")
    assert isinstance(problem, ContentProblem)
    assert (problem.path, problem.line) == ("content/events/x.md", 3)
    assert problem.message.startswith("invalid YAML: ")
    assert problem.message.endswith("(while parsing a flow sequence that starts on line 2)")


def test_yaml_tags_merge_keys_and_aliases():
    """Values built from the composed nodes keep PyYAML's meaning for every tag, give
    every mapping its lines, and refuse a collection used twice."""
    data = parse_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: !!str 2\n"
                      "n: ~\nt: true\nf: 1.5\ns: !!set {a, b}\nnested: [[1, {k: v}]]\n")
    assert data["other"] == {"x": 1, "y": "2"} and data["other"].line_of("y") == 4
    assert (data["n"], data["t"], data["f"], data["s"]) == (None, True, 1.5, {"a", "b"})
    assert data["nested"][0][1].line_of("k") == 9
    with pytest.raises(YAMLLimitError, match="aliases"):
        parse_yaml("a: &x [1, 2]\nb: *x\n")
    assert parse_yaml("a: &x word\nb: *x\n") == {"a": "word", "b": "word"}


@pytest.mark.skipif(not hasattr(os, "RWF_NOWAIT"), reason="RWF_NOWAIT is Linux's")
def test_content_not_in_memory_is_read_ahead_all_at_once(tmp_path, monkeypatch):
    """load.prefetch asks the kernel to read every file at once when a sample of them is
    not in memory, and asks nothing when it is."""
    files = [tmp_path / f"{number:02d}.md" for number in range(40)]
    for file in files:
        file.write_text(f"---\ntitle: Event {file.stem}\n---\n" + "Body text. " * 500)
    advice = []
    advise = os.posix_fadvise
    monkeypatch.setattr(os, "posix_fadvise", lambda descriptor, offset, length, what: (
        advice.append(what), advise(descriptor, offset, length, what)))
    load.prefetch([str(file) for file in files])
    assert advice == []                                   # just written: in memory
    drop_pages(tmp_path, sure=True)
    advice.clear()
    assert not load._in_memory(str(files[1]))             # (not one prefetch samples)
    load.prefetch([str(file) for file in files])
    assert advice.count(os.POSIX_FADV_WILLNEED) == len(files) and len(advice) == len(files)
    for _ in range(250):                                  # read in the background
        if all(load._in_memory(str(file)) for file in files):
            break
        time.sleep(0.02)
    assert all(load._in_memory(str(file)) for file in files)


def test_a_load_reads_ahead_the_files_it_will_read_and_no_others(monkeypatch):
    """load_content hands load.prefetch every content file it is to read (a clean build on
    one process reads them all), and none that an earlier build's stats let it trust."""
    from conftest import FIXTURES
    asked = []
    monkeypatch.setattr(load, "prefetch", lambda files: asked.append(sorted(files)))
    content = FIXTURES / "minimal" / "content"
    first = load.load_content(content)
    everything = sorted(str(path) for path in content.rglob("*") if path.is_file())
    assert asked == [everything] and len(first.stats) == len(everything)
    load.load_content(content, stats=first.stats)
    assert asked[1:] == [[]]
