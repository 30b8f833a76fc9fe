"""Generate a deterministic synthetic dossier in dossier's own content format.

    python benchmarks/generate.py OUT_DIR --events 1000

N events with realistic Markdown bodies (paragraphs, lists, emphasis, external links and
[[wikilinks]]), N/5 people with dated positions, N/20 organizations, N/50 sources,
about one quote per three events, participants, related events and conflicts. The same
N always gives the same bytes (a seeded random generator, no clock).
"""

from __future__ import annotations

import argparse
import random
import shutil
from datetime import date, timedelta
from pathlib import Path

WORDS = ("government minister congress embassy asylum relations talks decision vote "
         "statement court trial prosecutor sentence border trade agreement crisis report "
         "president spokesperson protest election party coalition treaty convention "
         "delegation sanctions ambassador hearing appeal ruling inquiry budget reform "
         "security police region province capital press conference interview").split()
FIRST = "Ana Luis María José Carmen Jorge Lucía Pedro Sofía Diego Elena Raúl Inés Tomás".split()
LAST = "García López Pérez Chávez Jerí Rospigliosi Zela Ornela Sánchez Ramírez Torres Flores".split()
TRACKS = ("bilateral", "domestic", "legal", "regional")


def sentence(rng: random.Random, links: list[str], n: int = 14) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    if links and rng.random() < 0.5:
        words.insert(rng.randrange(len(words)), f"[[{rng.choice(links)}]]")
    if rng.random() < 0.2:
        i = rng.randrange(len(words))
        words[i] = f"*{words[i]}*"
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def body(rng: random.Random, links: list[str]) -> str:
    parts = []
    for _ in range(rng.randint(2, 5)):
        parts.append(" ".join(sentence(rng, links) for _ in range(rng.randint(2, 4))))
    if rng.random() < 0.3:
        parts.append("\n".join(f"- {sentence(rng, links, 6)}" for _ in range(3)))
    if rng.random() < 0.3:
        parts.append(f"More in [the report](https://example.org/report/{rng.randint(1, 999)}).")
    if rng.random() < 0.2:
        parts.append(f"## Background\n\n{sentence(rng, links)}")
    return "\n\n".join(parts) + "\n"


def generate(out: Path, events: int, seed: int = 7) -> Path:
    rng = random.Random(seed + events)
    content = out / "content"
    if content.exists():
        shutil.rmtree(content)
    for folder in ("events", "people", "organizations", "sources"):
        (content / folder).mkdir(parents=True)
    n_people, n_orgs, n_sources = max(5, events // 5), max(3, events // 20), max(3, events // 50)
    sources = [f"source-{i}" for i in range(n_sources)]
    orgs = [f"org-{i}" for i in range(n_orgs)]
    people = [f"person-{i}" for i in range(n_people)]
    (content / "dossier.yaml").write_text(
        "title: Synthetic dossier\nsummary: A generated dossier for benchmarks.\n"
        "language: en\nas_of: 2025-12-31\ntracks:\n"
        + "".join(f"  - {{slug: {t}, name: {t.title()}}}\n" for t in TRACKS), "utf-8")
    for i, slug in enumerate(sources):
        (content / "sources" / f"{slug}.yaml").write_text(
            f"name: Source {i}\nkind: {rng.choice(['wire', 'newspaper', 'broadcaster', 'report'])}\n"
            f"published: 2025-{rng.randint(1, 12):02d}\n", "utf-8")
    for i, slug in enumerate(orgs):
        (content / "organizations" / f"{slug}.yaml").write_text(
            f"name: Organization {i}\nkind: {rng.choice(['ministry', 'party', 'embassy', 'court'])}\n"
            f"country: Country {i % 7}\nsummary: \"{sentence(rng, [])}\"\n"
            f"sources: [{rng.choice(sources)}]\n", "utf-8")
    for i, slug in enumerate(people):
        start = 2000 + rng.randint(0, 20)
        (content / "people" / f"{slug}.yaml").write_text(
            f"name: {rng.choice(FIRST)} {rng.choice(LAST)} {i}\ncountry: Country {i % 7}\n"
            f"positions:\n  - title: {rng.choice(['Minister', 'Deputy', 'Ambassador', 'Judge'])}\n"
            f"    organization: {rng.choice(orgs)}\n    start: {start}-{rng.randint(1, 12):02d}\n"
            f"    end: {start + rng.randint(1, 5)}\n    sources: [{rng.choice(sources)}]\n"
            f"summary: \"{sentence(rng, orgs[:5])}\"\nsources: [{rng.choice(sources)}]\n", "utf-8")
    first = date(2000, 1, 1)
    slugs = [f"{(first + timedelta(days=i * 3)).isoformat()}-event-{i}" for i in range(events)]
    for i, slug in enumerate(slugs):
        day = first + timedelta(days=i * 3)
        when = day.isoformat() if rng.random() < 0.8 else day.isoformat()[:7]
        who = rng.sample(people, 3)
        links = who + [rng.choice(orgs)]
        lines = [f"title: \"Event {i}: {' '.join(rng.choice(WORDS) for _ in range(5))}\"",
                 f"date: {when}", f"summary: \"{sentence(rng, links[:1], 10)}\"",
                 "participants:", f"  - {{ref: {who[0]}, role: actor}}",
                 f"  - {{ref: {who[1]}, role: target}}", f"  - {who[2]}",
                 f"  - {{ref: {rng.choice(orgs)}, role: mentioned}}",
                 f"track: {rng.choice(TRACKS)}", f"tags: [{rng.choice(WORDS)}, {rng.choice(WORDS)}]",
                 f"sources: [{rng.choice(sources)}, {rng.choice(sources)}]"]
        if i and rng.random() < 0.3:
            lines.append(f"related: [{slugs[rng.randrange(i)]}]")
        if rng.random() < 0.33:
            lines += ["quotes:", f"  - speaker: {who[0]}",
                      f"    text: \"{sentence(rng, [], 12)}\"", f"    said: {when}",
                      f"    source: {rng.choice(sources)}"]
        if rng.random() < 0.05:
            lines += ["conflicts:", "  - field: date", "    versions:",
                      f"      - {{text: One version., sources: [{sources[0]}]}}",
                      f"      - {{text: Another version., sources: [{sources[-1]}]}}"]
        (content / "events" / f"{slug}.md").write_text(
            "---\n" + "\n".join(lines) + "\n---\n" + body(rng, links), "utf-8")
    return content


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    generate(args.out, args.events)
    print(f"wrote {args.events} events into {args.out / 'content'}")


if __name__ == "__main__":
    main()
