"""The command line: parse arguments, run a command, print results, choose the exit code.

The only module that prints or decides exit codes: 0 ok, 1 content or build errors,
2 usage errors. Every DossierError is printed as its message, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, TextIO

from .errors import ContentErrors, DossierError, UsageError
from .words import counted

USAGE = """\
python build.py [--out DIR] [--root DIR] [--no-cache]   build the site into site/
python build.py check [--archive DIR]                   validate; verify quotes against archived sources
python build.py serve [--port N] [--host H] [--open]    live-reload authoring server
python build.py new event "Title" --date YYYY-MM-DD     new draft event (also: new person/organization "Name")
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits by itself; we decide exit codes
        raise UsageError(f"{self.prog}: {message}")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=Path("."),
                        help="project folder holding content/ (default: the working directory)")
    parser.add_argument("--content", type=Path, default=None,
                        help="content folder (default: ROOT/content)")
    parser.add_argument("--site-url", default=None, type=_site_url,
                        help="public address of the site, e.g. https://user.github.io/REPO/ "
                             "(overrides site_url in dossier.yaml)")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="python build.py", description="Build a news dossier site.",
                     usage=USAGE)
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name in ("build", "check"):
        sub = commands.add_parser(name)
        _common(sub)
        sub.add_argument("--out", type=Path, default=None,
                         help="output folder (default: ROOT/site)")
        sub.add_argument("--no-cache", action="store_true",
                         help="ignore and do not update the build cache (a clean build)")
        sub.add_argument("--jobs", type=int, default=None,
                         help="processes rendering pages (default: 2 when the machine has "
                              "two cores; 1 turns parallel rendering off)")
        if name == "check":
            sub.add_argument("--archive", type=Path, default=None,
                             help="folder of plain-text copies of sources (see a source's archive field)")
    sub = commands.add_parser("serve")
    _common(sub)
    sub.add_argument("--out", type=Path, default=None, help="output folder (default: ROOT/site)")
    sub.add_argument("--port", type=int, default=8000)
    sub.add_argument("--host", default="127.0.0.1",
                     help="address to bind (default 127.0.0.1: this machine only)")
    sub.add_argument("--open", action="store_true", help="open the site in a browser")
    sub = commands.add_parser("new")
    _common(sub)
    sub.add_argument("kind", choices=("event", "person", "organization"))
    sub.add_argument("title", help="event title, or the person's or organization's full name")
    sub.add_argument("--date", default=None, help="event date: YYYY-MM-DD, YYYY-MM or YYYY")
    if not argv or argv[0] not in commands.choices and argv[0] not in ("-h", "--help"):
        argv = ["build", *argv]
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run the command line; return the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        args = parse(list(sys.argv[1:] if argv is None else argv))
        return COMMANDS[args.command](args, out, err)
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except UsageError as error:
        print(f"{error}\n(usage: python build.py --help)", file=err)
        return 2
    except ContentErrors as error:
        for problem in error.problems:
            print(problem, file=err)
        count = sum(p.severity == "error" for p in error.problems)
        print(f"build failed: {counted(count, 'error')}; site/ was not changed",
              file=err)
        return 1
    except DossierError as error:
        print(f"error: {error}", file=err)
        return 1


def _site_url(text: str) -> str:
    if not text.startswith(("https://", "http://")) or " " in text:
        raise argparse.ArgumentTypeError(f"must be an http(s) address (got {text!r})")
    return text


def _project(args: argparse.Namespace):
    from .project import Project
    return Project.at(args.root, out=getattr(args, "out", None), content=args.content,
                      site_url=args.site_url, jobs=getattr(args, "jobs", None))


def cmd_build(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .pipeline import build
    project = _project(args)
    counter = _counter(err)
    try:
        report = build(project, use_cache=not args.no_cache, progress=counter)
    except KeyboardInterrupt:
        report = None
    finally:
        if counter is not None:               # before any other line, even after a ^C
            counter.end()
    if report is None:
        print("build interrupted; site/ was left as it was (or, if it was being updated, "
              "marked so that the next build rebuilds it)", file=err)
        return 130
    for warning in report.warnings:
        print(warning, file=err)
    print(summary(report, project), file=out)
    _keep(report)
    return 0


_KEPT: list = []


def _keep(report) -> None:
    """Hold the last build's report, with its dossier and cache, until the process ends.

    build.py ends the process with ``os._exit``, which frees nothing. Dropping the report
    as ``cmd_build`` returns freed the dossier and the cache object by object first: 0.025
    s of an edit at 10,000 events with the cycle collector off, as build.py runs, and 0.12
    to 0.19 s with it on. A next build in the same process (the tests) replaces it."""
    _KEPT[:] = [report]


def _counter(err: TextIO) -> "_Counter | None":
    """A progress line on a terminal; nothing when the output is a file or a pipe."""
    return _Counter(err) if getattr(err, "isatty", lambda: False)() else None


class _Counter:
    """One line, written over as the build goes: 'reading content: 6000/12700',
    'rendering Markdown: 20000/27500', 'rendering pages: 8000/12709', 'rendering the
    single-file edition', 'writing data files: 3/7'; ended by a new line when the build
    ends."""

    def __init__(self, err: TextIO):
        self.err, self.width = err, 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        text = f"{stage}: {done}/{total}" if total else f"{stage}..."
        print(f"\r{text.ljust(self.width)}", end="", file=self.err, flush=True)
        self.width = max(self.width, len(text))

    def end(self) -> None:
        if self.width:
            print(file=self.err, flush=True)
            self.width = 0


def summary(report, project) -> str:
    """The one-line summary of a build."""
    unchanged = report.total - report.written
    removed = f", {report.removed} removed" if report.removed else ""
    if report.search_index is not None:
        removed += f"; search index {report.search_index / 1024:.0f} KB"
    return (f"built {project.out}: {report.written} files written, {unchanged} unchanged"
            f"{removed}, {report.rendered} pages rendered in {report.seconds:.2f} s "
            f"({report.counts}; {counted(len(report.warnings), 'warning')})")


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .check import archive_names, check_quotes
    from .load import load_archive
    from .pipeline import compile_dossier
    project = _project(args)
    dossier, warnings, _, _ = compile_dossier(project)
    for warning in warnings:
        print(warning, file=err)
    if args.archive is None:
        print(f"content is valid ({len(dossier.quotes)} quotes; no --archive given, "
              f"quotes not verified)", file=out)
        return 0
    if not args.archive.is_dir():
        raise UsageError(f"--archive {args.archive}: no such folder")
    result = check_quotes(dossier, load_archive(args.archive, archive_names(dossier)))
    for problem in result.problems:
        print(problem, file=err)
    print(result.summary(), file=out if not result.problems else err)
    return 1 if result.problems else 0


def cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .serve import serve
    project = _project(args)
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535 (got {args.port})")
    return serve(project, args.host, args.port, args.open, out, err)


def cmd_new(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .scaffold import new_record
    path = new_record(_project(args).content, args.kind, args.title, args.date)
    try:
        path = path.relative_to(Path.cwd())
    except ValueError:
        pass
    print(path, file=out)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO, TextIO], int]] = {
    "build": cmd_build,
    "check": cmd_check,
    "serve": cmd_serve,
    "new": cmd_new,
}
