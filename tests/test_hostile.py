"""Hostile and broken input: every mistake explained, nothing injected, nothing lost."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import REPO, build, run_cli, snapshot

EVENT = "content/events/2025-11-03-break.md"
PERSON = "content/people/ana-lopez.yaml"


def write(root: Path, rel: str, data: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)


def replace(root: Path, rel: str, old: str, new: str) -> None:
    text = (root / rel).read_text("utf-8")
    assert old in text
    (root / rel).write_text(text.replace(old, new, 1), "utf-8")


BOMB = ("name: x\nsummary: x\nsources: [wire-report]\n"
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
                  for p, n in zip("abcdefgh", "bcdefghi")))

MISTAKES = {
    "unclosed front matter": (lambda r: write(r, "content/events/2025-x.md", "---\ntitle: X\ndate: 2025\n"),
                              "content/events/2025-x.md:1: no front matter: an event starts with a '---' line, its YAML fields, and a closing '---' line"),
    "empty file": (lambda r: write(r, "content/people/empty.yaml", ""),
                   "content/people/empty.yaml:1: empty file: expected YAML fields"),
    "non-UTF-8 bytes": (lambda r: write(r, "content/people/latin1.yaml", "name: Jos\xe9\n".encode("latin-1")),
                        "content/people/latin1.yaml:1: not valid UTF-8 (byte 0xe9 at offset 9); save the file as UTF-8"),
    "tab indentation": (lambda r: write(r, "content/people/tabs.yaml", "name: X\nsources:\n\t- wire-report\n"),
                        "content/people/tabs.yaml:3: invalid YAML: found character that cannot start any token (while scanning for the next token); indent with spaces, not tabs"),
    "duplicate slug differing by case": (lambda r: write(r, "content/people/Ana-Lopez.yaml", "name: X\n"),
                                         "content/people/Ana-Lopez.yaml: slug 'Ana-Lopez' differs from 'ana-lopez' (content/people/ana-lopez.yaml) only by case or accents; slugs are unique across all kinds"),
    "related to itself": (lambda r: replace(r, EVENT, "related: [2022-12-coup-attempt]", "related: [2025-11-03-break]"),
                          f"{EVENT}:9: related[0]: an event cannot be related to itself"),
    "quote answering itself": (lambda r: replace(r, EVENT, "    via: [newspaper]", "    via: [newspaper]\n    responds_to: break-announcement"),
                               f"{EVENT}:18: quotes[0].responds_to: responds_to goes round in a circle back to 'break-announcement'"),
    "organization that is its own parent": (
        lambda r: replace(r, "content/organizations/ruritania-government.yaml", "kind: government", "kind: government\nparent: ruritania-government"),
        "content/organizations/ruritania-government.yaml:3: parent: parent chain loops back to 'ruritania-government'"),
    "alias bomb": (lambda r: write(r, "content/people/bomb.yaml", BOMB),
                   "content/people/bomb.yaml:4: refused YAML: YAML anchors and aliases (&name, *name) are not supported; write the value out"),
    "deep nesting": (lambda r: write(r, "content/people/deep.yaml", "name: " + "[" * 100000 + "]" * 100000 + "\n"),
                     "content/people/deep.yaml: refused YAML: nested more than 50 levels deep"),
    "huge file": (lambda r: write(r, "content/people/huge.yaml", "name: x\nsummary: " + "a" * 3_000_000 + "\n"),
                  "content/people/huge.yaml: file is 3000018 bytes; the limit is 2000000 bytes"),
    "javascript: link": (lambda r: replace(r, EVENT, "The government announced", "[Click](javascript:alert(1)) The government announced"),
                         f"{EVENT}:27: body: link target 'javascript:alert(1)' is not allowed: link to pages of the dossier with [[slug]], and elsewhere with a full https:// address"),
    "link leaving the site": (lambda r: replace(r, EVENT, "The government announced", "[up](../../../etc/passwd) The government announced"),
                              f"{EVENT}:27: body: link target '../../../etc/passwd' is not allowed: link to pages of the dossier with [[slug]], and elsewhere with a full https:// address"),
    "absolute path link": (lambda r: replace(r, PERSON, "summary: Former", "summary: See [this](/etc/passwd). Former"),
                           f"{PERSON}:10: summary: link target '/etc/passwd' is not allowed: link to pages of the dossier with [[slug]], and elsewhere with a full https:// address"),
    "data: url in a source": (lambda r: replace(r, "content/sources/newspaper.yaml", "kind: newspaper", "kind: newspaper\nurl: data:text/html,<script>alert(1)</script>"),
                              "content/sources/newspaper.yaml:3: url: must be an http(s) address (got 'data:text/html,<script>alert(1)</script>')"),
    "archive path escaping": (lambda r: replace(r, "content/sources/wire-report.yaml", "archive: wire-report.txt", "archive: ../../etc/passwd"),
                              "content/sources/wire-report.yaml:5: archive: must be a plain file name inside the archive folder (got '../../etc/passwd')"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_mistake_is_explained_and_site_untouched(project, mistake):
    make, message = MISTAKES[mistake]
    assert build(project).code == 0
    before = snapshot(project / "site")
    make(project)
    result = build(project)
    assert result.code == 1, result.out
    assert "Traceback" not in result.err
    assert message in result.lines, result.err
    assert snapshot(project / "site") == before


def test_symlink_out_of_content_is_refused(project, tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("name: Secret\nsummary: s\nsources: [wire-report]\n")
    os.symlink(secret, project / "content/people/secret.yaml")
    result = build(project)
    assert result.code == 1
    assert result.lines[0] == (f"content/people/secret.yaml: refused: it links to {secret}, "
                               "outside content/; copy the file into content/ instead")


@pytest.mark.parametrize("variant", ["bom", "crlf", "bom and crlf"])
def test_bom_and_crlf_build_like_plain_files(project, tmp_path, variant):
    assert run_cli("--root", project, "--out", tmp_path / "plain", "--no-cache").code == 0
    for path in (project / "content").rglob("*.*"):
        text = path.read_text("utf-8")
        if "crlf" in variant:
            text = text.replace("\n", "\r\n")
        data = text.encode("utf-8")
        path.write_bytes(b"\xef\xbb\xbf" + data if "bom" in variant else data)
    result = run_cli("--root", project, "--out", tmp_path / "variant", "--no-cache")
    assert result.code == 0, result.err
    assert snapshot(tmp_path / "variant") == snapshot(tmp_path / "plain")


@pytest.mark.parametrize("target", ["content", "templates", "root", "home", "slash", "parent"])
def test_out_that_would_destroy_data_is_refused_before_anything(project, target, monkeypatch):
    shutil.copytree(REPO / "templates", project / "templates")
    places = {"content": project / "content", "templates": project / "templates",
              "root": project, "home": Path.home(), "slash": Path("/"),
              "parent": project.parent}
    before = snapshot(project)
    result = run_cli("--root", project, "--out", places[target])
    assert result.code == 1
    assert result.err.startswith("error: refusing to write the site to ")
    assert snapshot(project) == before
