"""Parse YAML into dicts and lists that remember the line of each key and item.

Dates stay strings (the timestamp resolver is removed) so that '2025-11' and
'2025-11-03' keep their precision; the C loader is used when PyYAML has it.
"""

from __future__ import annotations

from sys import intern

import yaml

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineDict(dict):
    """A mapping from YAML that knows its own line and the line of each key."""

    __slots__ = ("line", "lines")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.line: int = 0
        self.lines: dict = {}

    def line_of(self, key) -> int:
        """1-based line of ``key`` (the mapping's own line if the key is absent)."""
        return self.lines.get(key, self.line)


class LineList(list):
    """A sequence from YAML that knows its own line and the line of each item."""

    __slots__ = ("line", "lines")

    def __init__(self, *args):
        super().__init__(*args)
        self.line: int = 0
        self.lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


class MarkedLoader(_BaseLoader):
    """Safe loader whose mappings and sequences carry line numbers."""

    def resolve(self, kind, value, implicit):
        """PyYAML's tag resolution (called by the composer for each node, 460,000 times
        at 10,000 events), with the tags of short plain scalars kept by their text: with
        no path resolvers, a plain scalar's tag depends on its text alone, and the same
        role, date or slug comes again and again."""
        if kind is yaml.ScalarNode and implicit[0] and len(value) <= _KEPT_LENGTH:
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_PLAIN_TAGS) < _KEPT_TAGS:             # (a serve session lives on)
                    _PLAIN_TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)

    def descend_resolver(self, current_node, current_index):
        """Nothing to follow: this loader has no path resolvers, which PyYAML's own would
        look for at each node the composer enters (a test keeps it so)."""

    def ascend_resolver(self):
        """See ``descend_resolver``."""


_PLAIN_TAGS: dict[str, str] = {}
"""The tag of each short plain scalar resolved so far (MarkedLoader.resolve)."""
_KEPT_LENGTH, _KEPT_TAGS = 40, 1 << 17


# No implicit timestamps: a date's precision is the length of its text.
MarkedLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_map(loader: MarkedLoader, node: yaml.MappingNode):
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = _key(data, loader.construct_object(key_node, deep=True), key_node)
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = key_node.start_mark.line + 1


def _key(data: LineDict, key, node: yaml.Node):
    """A mapping key, refused when it is a collection or already in the mapping."""
    if not isinstance(key, (str, int, float, bool)) and key is not None:
        raise yaml.constructor.ConstructorError(None, None, "found an unhashable key",
                                                node.start_mark)
    if key in data:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}",
                                                node.start_mark)
    return key


def _construct_seq(loader: MarkedLoader, node: yaml.SequenceNode):
    data = LineList()
    data.line = node.start_mark.line + 1
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.lines.append(item.start_mark.line + 1)


MarkedLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
MarkedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


MAX_DEPTH = 50
"""Deeper nesting than this is refused (content never needs it; hostile input might)."""


class YAMLLimitError(ValueError):
    """Valid YAML that this tool refuses: aliases, or nesting deeper than MAX_DEPTH."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


def parse_yaml(text: str):
    """Parse one YAML document; raise yaml.YAMLError (with marks) on bad input and
    YAMLLimitError on aliases ("billion laughs") or absurd nesting.

    The document is composed by the C parser when PyYAML has it; nodes become values in
    ``_value``, which does for the common tags (strings, mappings, sequences) what
    PyYAML's generic constructor does, a few times faster, and hands every other tag to
    that constructor. Short strings (keys, roles, slugs, tags) are interned: the same
    text in many files is one object, which pickle then writes once (the records that
    prepare's worker sends, and the cache keeps, are 12 % smaller)."""
    _check_depth(text)
    loader = MarkedLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _value(loader, node, set(), 0)
    except RecursionError:
        raise YAMLLimitError(f"nested more than {MAX_DEPTH} levels deep", None) from None
    finally:
        loader.dispose()


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


def _value(loader: MarkedLoader, node: yaml.Node, seen: set[int], depth: int):
    """A node as LineDict / LineList / scalar, refusing aliased collections and nesting
    deeper than MAX_DEPTH (the checks ``_check_shared`` makes on constructed values)."""
    tag = node.tag
    if tag == _STR and isinstance(node, yaml.ScalarNode):
        value = node.value
        return intern(value) if len(value) <= _KEPT_LENGTH else value
    if tag == _MAP and isinstance(node, yaml.MappingNode):
        _enter(node, seen, depth)
        data = LineDict()
        data.line = node.start_mark.line + 1
        if any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value):
            loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = _key(data, _value(loader, key_node, seen, depth + 1), key_node)
            data[key] = _value(loader, value_node, seen, depth + 1)
            data.lines[key] = key_node.start_mark.line + 1
        return data
    if tag == _SEQ and isinstance(node, yaml.SequenceNode):
        _enter(node, seen, depth)
        items = LineList()
        items.line = node.start_mark.line + 1
        for item in node.value:
            items.append(_value(loader, item, seen, depth + 1))
            items.lines.append(item.start_mark.line + 1)
        return items
    value = loader.construct_object(node, deep=True)    # int, bool, null, set, ...
    _check_shared(value, seen, depth)
    return value


def _enter(node: yaml.Node, seen: set[int], depth: int) -> None:
    if id(node) in seen:
        raise YAMLLimitError("YAML anchors and aliases (&name, *name) are not supported; "
                             "write the value out", node.start_mark.line + 1)
    if depth > MAX_DEPTH:
        raise YAMLLimitError(f"nested more than {MAX_DEPTH} levels deep",
                             node.start_mark.line + 1)
    seen.add(id(node))


def _check_depth(text: str) -> None:
    """Refuse flow collections nested absurdly deep before the parser recurses into them."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:   # cannot nest deeper than that
        return
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    if deepest > MAX_DEPTH:
        raise YAMLLimitError(f"nested more than {MAX_DEPTH} levels deep", None)


def _check_shared(value, seen: set[int], depth: int) -> None:
    """An alias makes two places hold the same object: refuse it (a 'billion laughs'
    document expands to billions of items as soon as anything walks it)."""
    if not isinstance(value, (LineDict, LineList)):
        return
    if id(value) in seen:
        raise YAMLLimitError("YAML anchors and aliases (&name, *name) are not supported; "
                             "write the value out", getattr(value, "line", None))
    if depth > MAX_DEPTH:
        raise YAMLLimitError(f"nested more than {MAX_DEPTH} levels deep", value.line)
    seen.add(id(value))
    for item in (value.values() if isinstance(value, LineDict) else value):
        _check_shared(item, seen, depth + 1)
