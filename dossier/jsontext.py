"""JSON as the site's files hold it: compact, UTF-8 as it is (no \\u escapes but those
JSON requires), keys in the order given or sorted. The bytes ``json.dumps`` makes with
``ensure_ascii=False, separators=(",", ":")``, made by orjson: a clean build at 10,000
events encodes some 60,000 values (JSON-LD, the search index, dossier.json,
timeline.json), which took the standard library's C encoder 0.7 s of CPU, and orjson a
third of that.

What orjson refuses (a lone surrogate, an integer past 64 bits, nesting deeper than 254,
a key that is not a string) is encoded by the standard library, as are the values orjson
would encode and ``json`` would refuse (dataclasses, dates): these raise TypeError, as
they always did. Neither meets a float: nothing the site writes is one.
"""

from __future__ import annotations

import json
from typing import Callable

import orjson

_REFUSED = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
"""Left to the standard library, which raises TypeError for them."""


def _encoder(sort_keys: bool) -> Callable[[object], str]:
    standard = json.JSONEncoder(ensure_ascii=False, sort_keys=sort_keys,
                                separators=(",", ":")).encode
    dumps, option = orjson.dumps, _REFUSED | (orjson.OPT_SORT_KEYS if sort_keys else 0)

    def encode(value) -> str:
        try:
            return dumps(value, option=option).decode("utf-8")
        except TypeError:                         # orjson.JSONEncodeError is one
            return standard(value)
    return encode


compact = _encoder(False)
"""A value as compact JSON, its keys in the order given."""
compact_sorted = _encoder(True)
"""A value as compact JSON, its keys sorted."""
