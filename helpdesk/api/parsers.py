"""Request body parsers: DRF's, made safe against bodies built to crash or fool them.

- JSON nested thousands of levels deep makes Python's decoder (and every recursive walk after it)
  raise RecursionError, which would be a 500. No request body of this API nests more than a few
  levels, so anything deeper than MAX_JSON_DEPTH is refused as a parse error before any view sees it.
- Django's multipart parser accepts a body that stops before its closing boundary, and would
  store the part it got as if it were the whole file. Here such a body is a 400 parse error.
"""

from __future__ import annotations

from django.utils.http import parse_header_parameters
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Our deepest body is an object holding a list of strings (3 levels); 32 leaves room for any client.
MAX_JSON_DEPTH = 32


def nesting_depth(value: object) -> int:
    """How deeply lists and objects nest in `value` (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser that answers 400 `parse_error` for pathologically nested documents."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - the document nests deeper than {MAX_JSON_DEPTH} levels.") from None
        if nesting_depth(data) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - the document nests deeper than {MAX_JSON_DEPTH} levels.")
        return data


class _ClosingBoundaryWatch:
    """Passes a stream's reads through and notes whether the closing delimiter went by."""

    def __init__(self, stream, boundary: bytes):
        self._stream = stream
        self._marker = b"--" + boundary + b"--"
        self._tail = b""
        self.closed_properly = False

    def read(self, *args):
        chunk = self._stream.read(*args)
        if chunk and not self.closed_properly:
            window = self._tail + chunk
            self.closed_properly = self._marker in window
            self._tail = window[-len(self._marker) :]
        return chunk


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser that refuses a body without its closing boundary (a truncated upload)."""

    def parse(self, stream, media_type=None, parser_context=None):
        _, params = parse_header_parameters(media_type or "")
        boundary = params.get("boundary", "")
        if stream is None or not boundary:
            return super().parse(stream, media_type, parser_context)  # Django names what is wrong
        watched = _ClosingBoundaryWatch(stream, boundary.encode("ascii", "replace"))
        result = super().parse(watched, media_type, parser_context)  # type: ignore[arg-type]  # reads only
        if not watched.closed_properly:
            raise ParseError("Multipart form parse error - the body ends before its closing boundary.")
        return result
