"""Read content/ from disk into records: text split into YAML data and Markdown body.

The only module that reads content files. ``parse_record`` is pure (text in, record
out) so it is unit-tested and cached; ``load_content`` walks the folders.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from .errors import ContentErrors, ContentProblem
from .urls import SourcePath
from .yamlmarks import LineDict, YAMLLimitError, parse_yaml

# Content folders in load order: folder -> (kind, file extension).
FOLDERS = (
    ("events", "event", ".md"),
    ("people", "person", ".yaml"),
    ("organizations", "organization", ".yaml"),
    ("sources", "source", ".yaml"),
)
SITE_FILE = "dossier.yaml"
MAX_FILE_BYTES = 2_000_000


@dataclass(frozen=True, slots=True)
class Record:
    """One content file, parsed but not yet validated."""

    kind: str
    """'site', 'event', 'person', 'organization' or 'source'."""
    path: SourcePath
    """Path as shown to the user."""
    slug: str
    """File name without extension."""
    data: LineDict
    """Front matter or YAML document, with line numbers."""
    body: str = ""
    """Markdown body (events only)."""
    body_line: int = 1
    """Line of the file where the body starts."""
    digest: str = ""
    """Hash of the file's path and bytes: equal digests mean an equal record."""
    validated: tuple | None = None
    """(model or None for a draft, problems, the targets of its [[links]]) when an earlier
    build validated the same bytes under the same dossier.yaml; ``data`` is then left
    empty (see ``validated``)."""


def validated(record: Record, model, problems, links: tuple[str, ...] = ()) -> Record:
    """The record as a later build needs it: its identity and its validation outcome,
    without the parsed YAML (smaller to keep, faster to read back)."""
    return Record(record.kind, record.path, record.slug, _NO_DATA, "", record.body_line,
                  record.digest, (model, tuple(problems), links))


_NO_DATA = LineDict()
"""The parsed YAML of every validated record: one empty mapping, which nothing changes,
that pickle writes once per file or message. With a mapping of its own each, reading back
12,700 records (10,000 events) took 0.207 s; with this one, 0.189 s."""


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """Split '---' front matter from a Markdown body.

    Returns (yaml_text, body, body_line) where body_line is the 1-based line of the
    body's first line, or None when the text does not open with front matter.
    The YAML text keeps its line offset (a leading blank line stands for the fence)
    so parser line numbers are file line numbers.
    """
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            yaml_text = "\n" + "\n".join(lines[1:index])
            return yaml_text, "\n".join(lines[index + 1:]), index + 2
    return None


def yaml_problem(path: str, error: yaml.YAMLError, text: str = "") -> ContentProblem:
    """Translate a PyYAML error into a located problem, keeping its line."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    message = f"invalid YAML: {getattr(error, 'problem', None) or error}"
    context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context:
        started = f" that starts on line {context_mark.line + 1}" if (
            context_mark is not None and context_mark.line + 1 != line) else ""
        message += f" ({context}{started})"
    lines = text.split("\n")
    if line is not None and 0 < line <= len(lines) and lines[line - 1].startswith("\t"):
        message += "; indent with spaces, not tabs"
    return ContentProblem(path, line, "", message)


def parse_record(kind: str, path: SourcePath, slug: str, text: str) -> Record | ContentProblem:
    """Turn one file's text into a Record, or the problem that prevents it."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    body, body_line, yaml_text = "", 1, text
    if kind == "event":
        split = split_front_matter(text)
        if split is None:
            first = "empty file" if not text.strip() else "no front matter"
            return ContentProblem(path, 1, "", f"{first}: an event starts with a '---' line, "
                                  "its YAML fields, and a closing '---' line")
        yaml_text, body, body_line = split
    try:
        data = parse_yaml(yaml_text)
    except yaml.YAMLError as error:
        return yaml_problem(path, error, yaml_text)
    except YAMLLimitError as error:
        return ContentProblem(path, error.line, "", f"refused YAML: {error}")
    if data is None:
        return ContentProblem(path, 1, "", "empty file: expected YAML fields")
    if not isinstance(data, LineDict):
        return ContentProblem(path, 1, "", f"expected YAML fields (key: value), "
                              f"got a {type(data).__name__}")
    return Record(kind, path, slug, data, body, body_line)


def display_path(file: Path, project: Path) -> SourcePath:
    """The path to show in messages: relative to the working directory when the file is
    inside it, else relative to the project folder (so 'content/events/x.md')."""
    file = file.absolute()
    for base in (Path.cwd(), project.absolute()):
        if base in file.parents:
            return SourcePath(file.relative_to(base).as_posix())
    return SourcePath(os.fspath(file))


def read_bytes(file: str | Path, shown: SourcePath, size: int) -> bytes | ContentProblem:
    """Read a content file of ``size`` bytes (from its stat), refusing huge ones before
    reading them."""
    if size > MAX_FILE_BYTES:
        return ContentProblem(shown, None, "", f"file is {size} bytes; the limit is "
                              f"{MAX_FILE_BYTES} bytes")
    with open(file, "rb") as handle:
        return handle.read()


def prefetch(files: list[str], sample: int = 8) -> None:
    """Have the kernel start reading all of ``files`` at once, when a sample of them shows
    they are not in memory (a first build after a while, or after a restart): read one
    by one, each waited on the disk in turn (0.83-1.0 s for 12,700 files here; 0.2 s
    with this first). When the sample is in memory, as in a build soon after another,
    nothing more is done."""
    if not (hasattr(os, "RWF_NOWAIT") and hasattr(os, "posix_fadvise")) or not files:
        return
    if all(_in_memory(file) for file in files[::max(1, len(files) // sample)][:sample]):
        return
    for file in files:
        try:
            descriptor = os.open(file, os.O_RDONLY)
        except OSError:                             # reading it will say why
            continue
        try:
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass
        finally:
            os.close(descriptor)


def _in_memory(file: str) -> bool:
    """True unless the start of ``file`` would have to be read from disk (and when that
    cannot be told)."""
    try:
        descriptor = os.open(file, os.O_RDONLY)
    except OSError:
        return True
    try:
        os.preadv(descriptor, [bytearray(1)], 0, os.RWF_NOWAIT)
    except BlockingIOError:
        return False
    except OSError:
        pass
    finally:
        os.close(descriptor)
    return True


def decode(raw: bytes, shown: SourcePath) -> str | ContentProblem:
    """UTF-8 text of a file, or where its first undecodable byte is."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        return ContentProblem(shown, line, "", f"not valid UTF-8 (byte 0x{raw[error.start]:02x}"
                              f" at offset {error.start}); save the file as UTF-8")


def content_files(content: Path) -> list[tuple[str, Path, str, bool]]:
    """Every (kind, folder, file name, is_symlink) under content/, sorted; unexpected files
    are returned as kind ''. One directory scan per folder (os.scandir: no stat for plain
    files), and no Path object per file (making 12,700 of them took a third of a no-op
    load)."""
    found: list[tuple[str, Path, str, bool]] = [("site", content, SITE_FILE,
                                                 (content / SITE_FILE).is_symlink())]
    for folder, kind, ext in FOLDERS:
        directory = content / folder
        if not directory.is_dir():
            continue
        with os.scandir(directory) as entries:
            listed = sorted((entry.name, entry.is_file(), entry.is_symlink())
                            for entry in entries)
        for name, is_file, is_link in listed:
            if name.startswith(".") or name.endswith("~"):
                continue
            right = is_file and os.path.splitext(name)[1] == ext
            found.append((kind if right else "", directory, name, is_link))
    return found


@dataclass(frozen=True, slots=True)
class Loaded:
    """What load_content found."""

    records: list[Record]
    """Every file that parsed."""
    problems: list[ContentProblem]
    """Every file that did not, and why."""
    unreadable: frozenset[str]
    """Slugs of files that exist but could not be parsed (their problem is reported once;
    references to them are not reported again as unknown)."""
    stats: dict = field(default_factory=dict)
    """Shown path -> (size, mtime, digest) of every file read or trusted (load_file)."""


def file_digest(kind: str, shown: str, raw: bytes) -> str:
    """Identity of a content file's parse: its kind, its path and its bytes."""
    return hashlib.blake2b(b"%s\0%s\0%s" % (kind.encode(), shown.encode(), raw),
                           digest_size=16).hexdigest()


def load_content(content: Path, known: dict[str, Record] | None = None,
                 known_site: str = "", stats: dict | None = None,
                 now: dict | None = None, entries: list | None = None) -> Loaded:
    """Read every content file; return the records and the problems met on the way.

    ``known`` maps digests to records validated by an earlier build whose dossier.yaml
    had the digest ``known_site``: while dossier.yaml is unchanged, an unchanged file is
    neither parsed nor validated again. ``entries``: content_entries(content), when it
    was just listed; ``now``: stats just taken (see load_file).
    """
    known = known or {}
    records: list[Record] = []
    problems: list[ContentProblem] = []
    unreadable: set[str] = set()
    if not (content / SITE_FILE).is_file():
        shown = display_path(content / SITE_FILE, content.parent)
        return Loaded([], [ContentProblem(shown, None, "", "missing: every dossier needs "
                                          "content/dossier.yaml with at least title and "
                                          "summary")], frozenset())
    seen: dict = {}
    if entries is None:
        entries = content_entries(content)
    prefetch([path for _, path, shown, problem in entries      # the files it will read
              if problem is None and shown not in (stats or ())])
    for kind, path, shown, problem in entries:
        if problem is not None:
            problems.append(problem)
            if kind:
                unreadable.add(os.path.splitext(os.path.basename(path))[0])
            continue
        result = load_file(kind, path, shown, known, stats, seen, now)
        if kind == "site" and getattr(result, "digest", None) != known_site:
            known = {}                                # another dossier.yaml: validate anew
        if isinstance(result, ContentProblem):
            problems.append(result)
            unreadable.add(os.path.splitext(os.path.basename(path))[0])
        else:
            records.append(result)
    return Loaded(records, problems, frozenset(unreadable), seen)


def content_entries(content: Path) -> list[tuple[str, str, SourcePath, ContentProblem | None]]:
    """(kind, file path, shown path, problem) for every file under content/, in load
    order: the problem is set (and the file must not be read) for a file in the wrong
    place (kind '') or one that links outside content/."""
    inside = content.resolve()
    entries = []
    shown_folder = {}                          # display path, safety and path, per folder
    for kind, folder, name, is_link in content_files(content):
        if folder not in shown_folder:
            first = display_path(folder / name, content.parent)
            shown_folder[folder] = (first[:len(first) - len(name)], _within(folder, inside),
                                    os.path.join(folder, ""))
        base, safe_folder, path = shown_folder[folder]
        shown = SourcePath(base + name)
        problem = None
        if not kind:
            problem = ContentProblem(shown, None, "", _misplaced(folder / name))
        elif not (safe_folder and not is_link) and not _within(folder / name, inside):
            problem = ContentProblem(shown, None, "", f"refused: it links to "
                                     f"{(folder / name).resolve()}, outside content/; "
                                     "copy the file into content/ instead")
        entries.append((kind, path + name, shown, problem))
    return entries


def unchanged_digest(shown: SourcePath, st: os.stat_result, stats: dict | None) -> str | None:
    """The digest an earlier build read for a file whose size and modification time are
    still those ``stats`` holds (shown path -> (size, mtime, digest)); else None."""
    earlier = (stats or {}).get(shown)
    if earlier is not None and earlier[:2] == (st.st_size, st.st_mtime_ns):
        return earlier[2]
    return None


def load_file(kind: str, file: str | Path, shown: SourcePath, known: dict[str, Record],
              stats: dict | None = None, seen: dict | None = None,
              now: dict | None = None) -> Record | ContentProblem:
    """One content file as a record: reused from ``known`` when its bytes are unchanged.

    ``stats`` maps shown paths to (size, mtime, digest) from an earlier build: a file
    whose size and modification time are unchanged is not even read (the test make and
    Hugo use; the no-op stamp relies on it too). ``seen`` collects this build's; ``now``
    may hold the file's stat, taken moments ago (cache.stat_fingerprint)."""
    st = now.get(file) if now else None
    if st is None:
        st = os.stat(file)
    stamp = (st.st_size, st.st_mtime_ns)
    earlier = unchanged_digest(shown, st, stats)
    if earlier in known:
        if seen is not None:
            seen[shown] = (*stamp, earlier)
        return known[earlier]
    raw = read_bytes(file, shown, st.st_size)
    if isinstance(raw, ContentProblem):
        return raw
    key = file_digest(kind, shown, raw)
    if seen is not None:
        seen[shown] = (*stamp, key)
    if key in known:
        return known[key]
    text = decode(raw, shown)
    if isinstance(text, ContentProblem):
        return text
    record = parse_record(kind, shown, os.path.splitext(os.path.basename(file))[0], text)
    return record if isinstance(record, ContentProblem) else replace(record, digest=key)


def _misplaced(file: Path) -> str:
    expected = {folder: ext for folder, _, ext in FOLDERS}[file.parent.name]
    if file.is_dir():
        return f"unexpected folder; {file.parent.name}/ holds only {expected} files"
    return f"unexpected file; {file.parent.name}/ holds only {expected} files " \
           f"(rename it to {file.stem}{expected})"


def _within(file: Path, folder: Path) -> bool:
    """True when a path, symlinks followed, stays inside ``folder`` (already resolved)."""
    resolved = file.resolve()
    return resolved == folder or folder in resolved.parents


def _files(folder: Path) -> list[Path]:
    """Every visible file under a folder; a symlink leading outside it is an error."""
    inside = folder.resolve()
    files = [f for f in sorted(folder.rglob("*")) if f.is_file() and not f.name.startswith(".")]
    outside = [f for f in files if not _within(f, inside)]
    if outside:
        raise ContentErrors([ContentProblem(display_path(f, folder.parent), None, "",
                                            f"refused: it links to {f.resolve()}, outside "
                                            f"{folder.name}/") for f in outside])
    return files


def load_templates(folder: Path) -> dict[str, str]:
    """Every template under ``folder`` as {relative name: source}."""
    return {file.relative_to(folder).as_posix(): file.read_text("utf-8")
            for file in _files(folder)}


def load_assets(folder: Path) -> dict[str, bytes]:
    """Every static asset under ``folder`` as {'assets/<relative path>': bytes}."""
    if not folder.is_dir():
        return {}
    return {f"assets/{file.relative_to(folder).as_posix()}": file.read_bytes()
            for file in _files(folder)}


def load_archive(folder: Path, names: list[str]) -> dict[str, str]:
    """Read the archived plain-text copies named by sources; absent files are skipped."""
    texts = {}
    for name in sorted(set(names)):
        file = folder / name
        if file.is_file():
            texts[name] = file.read_bytes().decode("utf-8", errors="replace")
    return texts
