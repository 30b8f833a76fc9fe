"""Machine-readable descriptions of pages: schema.org JSON-LD and Open Graph metadata.

JSON-LD is serialised so that no content can close the <script> element that holds
it ('<', '>' and '&' become \\u escapes). URLs inside JSON-LD are relative to the page
(valid IRI references); only Open Graph and canonical links use absolute URLs, and only
when the dossier has a site_url.
"""

from __future__ import annotations

from markupsafe import Markup

from .jsontext import compact_sorted
from .link import Dossier
from .model import Event, Organization, Person, Quote, Source


def safe_json(data) -> str:
    """JSON, its keys sorted, that is safe inside a <script> element."""
    text = compact_sorted(data)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def script(graph: list[dict]) -> Markup:
    """A JSON-LD <script> element holding a @graph."""
    return script_of([safe_json(node) for node in graph])


def script_of(nodes: list[str]) -> Markup:
    """``script`` of nodes already serialised by safe_json (each can be cached apart: with
    sorted keys, the document is "@context" then "@graph", and a list's JSON is its items'
    JSON joined by commas)."""
    return Markup('<script type="application/ld+json">{"@context":"https://schema.org",'
                  f'"@graph":[{",".join(nodes)}]}}</script>')


def agent(here, slug: str) -> dict:
    """A Person or Organization node for a reference."""
    kind = "Person" if here.kind(slug) == "person" else "Organization"
    return {"@type": kind, "name": here.name(slug), "url": here.ref(slug)}


def citation(here, slug: str) -> dict:
    return {"@type": "CreativeWork", "name": here.name(slug), "url": here.ref(slug)}


def quotation(here, quote: Quote) -> dict:
    """A schema.org Quotation: the words, who said them, when, and where it is reported."""
    speaker = agent(here, quote.speaker.slug)
    node = {"@type": "Quotation", "@id": here.quote(quote), "text": quote.text,
            "inLanguage": quote.lang, "creator": speaker, "spokenByCharacter": speaker,
            "dateCreated": quote.said.iso(),
            "citation": [citation(here, quote.source.source.slug)] +
                        [citation(here, ref.slug) for ref in quote.via],
            "isPartOf": {"@type": "NewsArticle", "url": here.ref(quote.event)}}
    if quote.translation:
        node["workTranslation"] = {"@type": "Quotation", "text": quote.translation.text}
    return node


def event_graph(here, event: Event) -> list[dict]:
    happening = {"@type": "Event", "name": event.title, "startDate": event.when.start.iso(),
                 "description": here.plain(event.summary),
                 "eventStatus": "https://schema.org/EventScheduled"}
    if event.when.end:
        happening["endDate"] = event.when.end.iso()
    if event.location:
        happening["location"] = {"@type": "Place", "name": event.location}
    people = [agent(here, p.ref.slug) for p in event.participants]
    if people:
        happening["actor"] = people
    article = {"@type": "NewsArticle", "headline": event.title, "url": here.ref(event.slug),
               "description": here.plain(event.summary), "about": happening,
               "citation": [citation(here, c.source.slug) for c in event.sources]}
    if people:
        article["mentions"] = people
    return [article, *(quotation(here, q) for q in event.quotes)]


def profile_graph(here, record: Person | Organization, said: tuple[Quote, ...]) -> list[dict]:
    node = {"@type": "Person" if isinstance(record, Person) else "Organization",
            "name": record.name, "url": here.ref(record.slug),
            "description": here.plain(record.summary)}
    if record.aliases:
        node["alternateName"] = list(record.aliases)
    if isinstance(record, Person):
        if record.country:
            node["nationality"] = {"@type": "Country", "name": record.country}
        if record.positions:
            node["jobTitle"] = record.positions[-1].title
        orgs = [p.organization.slug for p in record.positions if p.organization]
        if record.party:
            orgs.append(record.party.slug)
        if orgs:
            node["affiliation"] = [agent(here, slug) for slug in dict.fromkeys(orgs)]
    else:
        if record.parent:
            node["parentOrganization"] = agent(here, record.parent.slug)
        if record.country:
            node["location"] = {"@type": "Country", "name": record.country}
    return [node, *(quotation(here, q) for q in said)]


def source_graph(here, source: Source) -> list[dict]:
    node = {"@type": "CreativeWork", "name": source.name, "url": here.ref(source.slug),
            "genre": source.kind}
    if source.url:
        node["sameAs"] = source.url
    if source.publisher:
        node["publisher"] = {"@type": "Organization", "name": source.publisher}
    if source.published:
        node["datePublished"] = source.published.iso()
    if source.lang:
        node["inLanguage"] = source.lang
    return [node]


def home_graph(here, dossier: Dossier) -> list[dict]:
    site = dossier.site
    return [{"@type": "WebSite", "name": site.title, "description": here.plain(site.summary),
             "inLanguage": site.language, "url": here.url("index.html")},
            {"@type": "Dataset", "name": f"{site.title}: data",
             "description": "Every event, person, organization, quote and source of the "
                            "dossier, with resolved references.",
             "distribution": [
                 {"@type": "DataDownload", "encodingFormat": "application/json",
                  "contentUrl": here.url("dossier.json")},
                 {"@type": "DataDownload", "encodingFormat": "text/csv",
                  "contentUrl": here.url("events.csv")},
                 {"@type": "DataDownload", "encodingFormat": "text/csv",
                  "contentUrl": here.url("quotes.csv")}]}]


def page_graph(here, title: str, description: str) -> list[dict]:
    return [{"@type": "WebPage", "name": title, "description": description,
             "url": here.url(here.page)}]
