"""Benchmark dossier on generated corpora: cold build (--no-cache; also with its files
dropped from memory first, as in a first build after a pause), first build with the
cache (it writes the cache), no-op rebuild, edits (an event's body, title or date; a
profile's name), serve latency, peak memory, and the Python floor measured the same way.

    python benchmarks/run.py                 # N = 1000 and 10000 (about 10 minutes)
    python benchmarks/run.py --sizes 1000 --runs 3

Whole-process wall times, median of --runs runs (cold builds: after two warm-ups), on
corpora from benchmarks/generate.py (kept in benchmarks/.work/). Peak memory is the
largest maximum resident set size of any build process (or its workers) measured.
Results are printed as a Markdown table (each median with the runs' range) and written to
benchmarks/results.json (the medians, every run's value under "each", and each build's
peak under "each_peak_mb").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work"
sys.path.insert(0, str(HERE))
from generate import generate  # noqa: E402

MEASURE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
           "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
           "stderr=subprocess.DEVNULL).returncode; "
           "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)")


def timed(args: list[str]) -> tuple[float, float]:
    """(seconds, peak MB) of one whole process."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True,
                         text=True, check=True).stdout.split()
    if out[2] != "0":
        raise SystemExit(f"command failed: {' '.join(args)}")
    return float(out[0]), int(out[1]) / 1024


def build_cmd(root: Path, *extra: str) -> list[str]:
    return [sys.executable, str(REPO / "build.py"), "--root", str(root), *extra]


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def measured(result: dict, key: str, values: list) -> None:
    """Keep the median of ``values`` under ``key``, and every value under ``each`` (this
    machine's speed moves by a fifth within minutes: the spread tells a slow stretch).
    Values may be ``timed``'s (seconds, peak MB): each run's peak goes under
    ``each_peak_mb``, to tell which build made the peak."""
    seconds = [value[0] if isinstance(value, tuple) else value for value in values]
    result[key] = median(seconds)
    result.setdefault("each", {})[key] = [round(value, 3) for value in seconds]
    peaks = [round(value[1]) for value in values if isinstance(value, tuple)]
    if peaks:
        result.setdefault("each_peak_mb", {})[key] = peaks


def middle_event(root: Path) -> Path:
    events = sorted((root / "content/events").glob("*.md"))
    return events[len(events) // 2]


def touch_event(root: Path, n: int) -> Path:
    """Add a paragraph to an event's body (the usual edit while writing)."""
    event = middle_event(root)
    text = event.read_text("utf-8")
    event.write_text(text.rstrip("\n") + f"\n\nEdit number {n}.\n", "utf-8")
    return event


def _edit_field(path: Path, field: str, change) -> None:
    """Give the first line ``field: value`` of a file the value ``change(value)``."""
    lines = path.read_text("utf-8").split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{field}: "))
    lines[at] = f"{field}: {change(lines[at][len(field) + 2:])}"
    path.write_text("\n".join(lines), "utf-8")


def retitle_event(root: Path, n: int) -> None:
    """Give an event a new title (shown on its neighbours' pages, its people's and
    sources' pages, the timeline and its charts, the data files)."""
    _edit_field(middle_event(root), "title", lambda _: f'"Retitled event {n}"')


def redate_event(root: Path, n: int) -> None:
    """Move an event's date a week (a month, for a month's date) later, or back every
    other run: it moves past its neighbours on the timeline, in its charts and in every
    list of events."""
    step = 1 if n % 2 == 0 else -1

    def moved(when: str) -> str:
        if len(when) == len("2000-01"):
            year, month = divmod(int(when[:4]) * 12 + int(when[5:]) - 1 + step, 12)
            return f"{year:04d}-{month + 1:02d}"
        return (date.fromisoformat(when) + timedelta(days=7 * step)).isoformat()
    _edit_field(middle_event(root), "date", moved)


def touch_profile(root: Path, n: int) -> None:
    """Rename a person (shown wherever the person is named)."""
    _edit_field(root / "content/people/person-1.yaml", "name", lambda _: f"Edited Person {n}")


def serve_latency(root: Path, runs: int) -> tuple[list[float], list[float]]:
    """Seconds from saving an event's body to (1) its page being rewritten and (2) serve
    reporting the whole rebuild done (every file written), as seen from outside."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(REPO / "build.py"), "serve", "--root",
                             str(root), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            preexec_fn=_ctrl_c_stops)
    lines: list[tuple[float, str]] = []

    def collect() -> None:
        for line in proc.stdout:
            lines.append((time.perf_counter(), line))
    threading.Thread(target=collect, daemon=True).start()

    def wait(condition, started: float) -> None:
        while not condition():
            time.sleep(0.002)
            if time.perf_counter() - started > 60:
                raise SystemExit("serve did not rebuild within 60 s")
    try:
        wait(lambda: any(line.startswith("serving ") for _, line in lines), time.perf_counter())
        page_times, all_times = [], []
        for n in range(runs + 1):
            time.sleep(0.5)
            event = sorted((root / "content/events").glob("*.md"))[n]
            page = root / "site/events" / f"{event.stem}.html"
            before = page.read_bytes()
            started = time.perf_counter()
            event.write_text(event.read_text("utf-8").rstrip("\n") + f"\n\nServe edit {n}.\n", "utf-8")
            wait(lambda: page.read_bytes() != before, started)
            page_time = time.perf_counter() - started
            done = lambda: [t for t, line in lines if t > started and line.startswith("rebuilt in")]  # noqa: E731
            wait(done, started)
            if n:  # the first edit warms the server up
                page_times.append(page_time)
                all_times.append(done()[0] - started)
        return page_times, all_times
    finally:
        proc.send_signal(signal.SIGINT)      # Ctrl-C, as an author stops it
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


def _ctrl_c_stops() -> None:
    """A benchmark started in the background (``run.py &``) ignores Ctrl-C, and so would
    the server it starts: give the server Ctrl-C back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def floor(root: Path, runs: int) -> dict:
    """The Python floor: read inputs, parse YAML (C loader), Markdown every body, Jinja a
    page per record, write 1.2 N files: the cost any Python generator pays."""
    script = r'''
import sys, time, yaml, jinja2, pathlib, markdown_it, shutil
root = pathlib.Path(sys.argv[1]); out = root / "floor-site"
t0 = time.perf_counter()
files = sorted((root / "content").rglob("*.*")); texts = [f.read_text("utf-8") for f in files]
t1 = time.perf_counter()
docs = [yaml.load(t.split("\n---\n")[0].lstrip("-") if f.suffix == ".md" else t, Loader=yaml.CSafeLoader) for f, t in zip(files, texts)]
t2 = time.perf_counter()
md = markdown_it.MarkdownIt("commonmark"); html = [md.render(t.split("\n---\n", 1)[1]) for f, t in zip(files, texts) if f.suffix == ".md"]
t3 = time.perf_counter()
tpl = jinja2.Environment(autoescape=True).from_string("<!DOCTYPE html><html><head><title>{{ t }}</title></head><body>{{ b }}</body></html>")
pages = [tpl.render(t=str(d)[:80], b=h) for d, h in zip(docs, html + [""] * len(docs))]
t4 = time.perf_counter()
shutil.rmtree(out, ignore_errors=True); out.mkdir()
for i, p in enumerate(pages + pages[: len(pages) // 5]):
    (out / f"{i}.html").write_text(p, "utf-8")
t5 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)
'''
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True,
                             text=True, check=True).stdout.split()
        results.append([float(x) for x in out])
    shutil.rmtree(root / "floor-site", ignore_errors=True)
    names = ("read", "yaml", "markdown", "jinja", "write")
    parts = {name: median([r[i] for r in results]) for i, name in enumerate(names)}
    parts["total"] = round(sum(parts.values()), 3)
    return parts


def drop_pages(*paths: Path) -> None:
    """Have the kernel forget the pages of files (and of the files under folders), as it
    does with files left unread for a while (or after a restart): written to disk, then
    dropped from memory (POSIX_FADV_DONTNEED; Linux honours it for clean pages, and a
    file system that lives in memory, like tmpfs, ignores it)."""
    os.sync()
    for top in paths:
        for path in [top] if top.is_file() else top.rglob("*"):
            if path.is_file() and not path.is_symlink():
                descriptor = os.open(path, os.O_RDONLY)
                try:
                    os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(descriptor)


def bench(n: int, runs: int) -> dict:
    root = WORK / f"corpus-{n}"
    if not (root / "content").is_dir():
        generate(root, n)
    for leftover in (root / "site", root / ".dossier-cache"):
        shutil.rmtree(leftover, ignore_errors=True)
    result: dict = {"events": n}
    # Two warm-ups: the first clean build after the site above was deleted writes over
    # the spare a clean build keeps (write.py: .site.spare) and leaves none, so the
    # second creates 12,700 files moments after 12,700 were deleted, which ext4 makes
    # slow (at 10k: 9.63 s, 5.99 s of it in the kernel, against 6.65-6.94 s for the
    # builds before and after it). Every clean build after those writes over a spare.
    cold = [timed(build_cmd(root, "--no-cache")) for _ in range(runs + 2)][2:]
    measured(result, "cold_build_s", cold)
    result["cold_peak_mb"] = round(max(c[1] for c in cold))
    if hasattr(os, "posix_fadvise"):                # the first build of the day: the
        dropped = []                                # dossier's files, the site it replaces
        for _ in range(runs):                       # and the tool's bytecode, read anew
            drop_pages(root, *(REPO / part for part in (".dossier-cache", "dossier",
                                                         "templates", "assets")))
            dropped.append(timed(build_cmd(root, "--no-cache")))
        measured(result, "cold_dropped_s", dropped)
    one = [timed(build_cmd(root, "--no-cache", "--jobs", "1")) for _ in range(runs)]
    measured(result, "cold_build_one_core_s", one)
    first = []
    for _ in range(runs):                       # a first build: fills the cache
        shutil.rmtree(root / ".dossier-cache", ignore_errors=True)
        first.append(timed(build_cmd(root)))
    measured(result, "first_build_s", first)
    noop = [timed(build_cmd(root)) for _ in range(runs)]
    measured(result, "noop_rebuild_s", noop)
    edits = []
    for i in range(runs):
        touch_event(root, i)
        edits.append(timed(build_cmd(root)))
    measured(result, "edit_event_rebuild_s", edits)
    for key, edit in (("edit_title_rebuild_s", retitle_event), ("edit_date_rebuild_s", redate_event)):
        times = []
        for i in range(runs):
            edit(root, i)
            times.append(timed(build_cmd(root)))
        measured(result, key, times)
        edits += times
    profiles = []
    for i in range(runs):
        touch_profile(root, i)
        profiles.append(timed(build_cmd(root)))
    measured(result, "edit_profile_rebuild_s", profiles)
    result["peak_mb"] = round(max(c[1] for c in cold + one + first + noop + edits + profiles))
    page_times, all_times = serve_latency(root, runs)
    measured(result, "serve_save_to_page_s", page_times)
    measured(result, "serve_save_to_all_written_s", all_times)
    result["floor_s"] = floor(root, runs)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    results = {"machine": {"cores": os.cpu_count(), "python": platform.python_version()},
               "runs": args.runs, "sizes": [bench(n, args.runs) for n in args.sizes]}
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    rows = [("cold build", "cold_build_s"),
            ("cold build, its files not in memory", "cold_dropped_s"),
            ("cold build, one core", "cold_build_one_core_s"),
            ("first build (writes the cache)", "first_build_s"),
            ("no-op rebuild", "noop_rebuild_s"), ("rebuild after editing one event's body", "edit_event_rebuild_s"),
            ("rebuild after editing one event's title", "edit_title_rebuild_s"),
            ("rebuild after moving one event's date", "edit_date_rebuild_s"),
            ("rebuild after editing one profile", "edit_profile_rebuild_s"),
            ("serve: save → edited page written", "serve_save_to_page_s"),
            ("serve: save → whole rebuild written", "serve_save_to_all_written_s"),
            ("peak memory (MB)", "peak_mb")]
    header = "| | " + " | ".join(f"{r['events']:,} events" for r in results["sizes"]) + " |"
    print(header)
    print("|---" * (len(results["sizes"]) + 1) + "|")
    for label, key in rows:
        print(f"| {label} | " + " | ".join(_shown(r, key) for r in results["sizes"]) + " |")
    print("| Python floor (read+YAML+Markdown+Jinja+write) | "
          + " | ".join(str(r["floor_s"]["total"]) for r in results["sizes"]) + " |")


def _shown(result: dict, key: str) -> str:
    """A row's cell: the median, and the runs' range when there were several."""
    each = result.get("each", {}).get(key)
    if key not in result:
        return "n/a"
    if not each or len(each) < 2:
        return str(result[key])
    return f"{result[key]} ({min(each)}–{max(each)})"


if __name__ == "__main__":
    main()
