"""Search filters: MLflow's filter grammar (the subset below) parsed into comparisons.

Grammar, case-insensitive keywords::

    filter     := comparison ("AND" comparison)*
    comparison := field operator value
    field      := tags.<key> | metadata.<key> | status | name | timestamp_ms | execution_time_ms
                  | trace_id | client_request_id        (optionally prefixed by ``trace.``)
    value      := 'text' | "text" | number | "(" 'text' ("," 'text')* ")"

:class:`~tracewire._search.TraceQuery` holds the parsed comparisons *and* the raw filter text: local
stores evaluate the comparisons (in Python or as SQL), while a server destination can forward the
text unchanged. Imported on the first search only, so ``import tracewire`` never pays for ``re``.
"""

from __future__ import annotations

import functools
import re

from tracewire._constants import TraceTagKey
from tracewire._status import TraceState

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tracewire._trace import Trace

# Canonical field names; SQL destinations map them to columns.
TAG, METADATA, STATE, NAME = "tag", "metadata", "state", "name"
TIMESTAMP, DURATION = "timestamp_ms", "execution_time_ms"
TRACE_ID, CLIENT_REQUEST_ID = "trace_id", "client_request_id"

_ATTRIBUTES = {
    "status": STATE,
    "state": STATE,
    "name": NAME,
    "timestamp": TIMESTAMP,
    "timestamp_ms": TIMESTAMP,
    "execution_time": DURATION,
    "execution_time_ms": DURATION,
    "trace_id": TRACE_ID,
    "request_id": TRACE_ID,
    "client_request_id": CLIENT_REQUEST_ID,
}
_ATTRIBUTE_PREFIXES = frozenset({"trace", "attribute", "attributes"})
_KEYED_PREFIXES = {"tags": TAG, "tag": TAG, "metadata": METADATA, "request_metadata": METADATA}

_TEXT_OPERATORS = frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"})
_ID_OPERATORS = frozenset({"=", "!=", "IN", "NOT IN"})
_NUMBER_OPERATORS = frozenset({"=", "!=", "<", "<=", ">", ">="})
OPERATORS = {
    TAG: _TEXT_OPERATORS,
    METADATA: _TEXT_OPERATORS,
    NAME: _TEXT_OPERATORS,
    STATE: _ID_OPERATORS,
    TRACE_ID: _ID_OPERATORS,
    CLIENT_REQUEST_ID: _ID_OPERATORS,
    TIMESTAMP: _NUMBER_OPERATORS,
    DURATION: _NUMBER_OPERATORS,
}
_STATES = tuple(state.value for state in TraceState)

SUPPORTED = (
    "Supported: tags.<key> and metadata.<key> (=, !=, LIKE, ILIKE, IN, NOT IN; quote keys with "
    "special characters in backticks: tags.`my key`), name (same operators), status / state "
    f"(=, !=, IN, NOT IN; one of {', '.join(_STATES)}), timestamp_ms and execution_time_ms "
    "(=, !=, <, <=, >, >=; a number of milliseconds), trace_id / request_id and client_request_id "
    "(=, !=, IN, NOT IN); any attribute may be prefixed with 'trace.'; comparisons are joined "
    "with AND. Example: \"tags.env = 'prod' AND status = 'ERROR' AND timestamp_ms > 1700000000000\""
)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    |(?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
    |(?P<number>[-+]?\d+(?:\.\d+)?(?![\w.]))
    |(?P<word>[A-Za-z_]\w*(?:\.(?:`[^`]*`|"(?:[^"]|"")*"|[\w\-]+))*)
    |(?P<operator>!=|<>|>=|<=|==|=|>|<)
    |(?P<punctuation>[(),])
    """,
    re.VERBOSE,
)
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "ILIKE"})


class Comparison:
    """One ``field operator value`` clause of a filter.

    Attributes:
        field: A canonical field name (``tag``, ``metadata``, ``state``, ``name``,
            ``timestamp_ms``, ``execution_time_ms``, ``trace_id`` or ``client_request_id``).
        key: The tag or metadata key; ``None`` for the other fields.
        operator: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``LIKE``, ``ILIKE``, ``IN`` or ``NOT IN``.
        value: A string, a number, or a tuple of strings for ``IN`` and ``NOT IN``.
    """

    __slots__ = ("field", "key", "operator", "value")

    def __init__(
        self, field: str, key: str | None, operator: str, value: str | float | tuple[str, ...]
    ) -> None:
        self.field = field
        self.key = key
        self.operator = operator
        self.value = value

    def matches(self, trace: Trace) -> bool:
        """Return whether ``trace`` satisfies this comparison (a missing value never does)."""
        info = self.field
        actual: str | int | None
        if info == TAG:
            actual = trace.info.tags.get(self.key or "")
        elif info == METADATA:
            actual = trace.info.trace_metadata.get(self.key or "")
        elif info == NAME:
            actual = trace.info.tags.get(TraceTagKey.TRACE_NAME)
        elif info == STATE:
            actual = trace.info.state.value
        elif info == TIMESTAMP:
            actual = trace.info.request_time
        elif info == DURATION:
            actual = trace.info.execution_duration
        elif info == TRACE_ID:
            actual = trace.info.trace_id
        else:
            actual = trace.info.client_request_id
        if actual is None:
            return False
        return compare(actual, self.operator, self.value)

    def __repr__(self) -> str:
        key = "" if self.key is None else f".{self.key}"
        return f"Comparison({self.field}{key} {self.operator} {self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Comparison) and (
            (self.field, self.key, self.operator, self.value)
            == (other.field, other.key, other.operator, other.value)
        )

    def __hash__(self) -> int:
        return hash((self.field, self.key, self.operator, self.value))


def compare(actual: str | float, operator: str, expected: str | float | tuple[str, ...]) -> bool:
    """Apply ``operator`` to a stored value and a filter value, with SQL-like semantics."""
    if operator == "=":
        return actual == expected
    if operator == "!=":
        return actual != expected
    if operator == "IN":
        return actual in expected  # type: ignore[operator]
    if operator == "NOT IN":
        return actual not in expected  # type: ignore[operator]
    if operator in ("LIKE", "ILIKE"):
        return like(str(actual), str(expected), operator == "ILIKE")
    number, bound = float(actual), float(expected)  # type: ignore[arg-type]
    if operator == "<":
        return number < bound
    if operator == "<=":
        return number <= bound
    if operator == ">":
        return number > bound
    return number >= bound


@functools.lru_cache(maxsize=256)
def _like_pattern(pattern: str, case_insensitive: bool) -> re.Pattern[str]:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if case_insensitive else 0))


def like(value: str, pattern: str, case_insensitive: bool) -> bool:
    """SQL ``LIKE`` (case-sensitive, as in MLflow) or ``ILIKE``: ``%`` any run, ``_`` one character.

    SQLite's own ``LIKE`` ignores ASCII case only, so the SQLite store calls this function instead,
    and both stores agree on every string.
    """
    return _like_pattern(pattern, case_insensitive).fullmatch(value) is not None


class _Parser:
    """Recursive-descent parser over the token list of one filter string."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        self.index = 0
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None:
                raise self._unexpected_character(position)
            kind = match.lastgroup or ""
            if kind != "space":
                word = match.group()
                if kind == "word" and word.upper() in _KEYWORDS:
                    kind = "keyword"
                self.tokens.append((kind, word, position))
            position = match.end()

    def error(self, message: str, start: int | None = None, end: int | None = None) -> ValueError:
        """Return the ValueError that quotes the filter and points at ``start``..``end``."""
        if start is None:
            start = len(self.text)
        width = max(1, (end if end is not None else start + 1) - start)
        shown = self.text.replace("\n", " ").replace("\t", " ")
        return ValueError(
            f"Invalid filter_string: {message} (column {start + 1}):\n"
            f"    {shown}\n    {' ' * start}{'^' * width}\n{SUPPORTED}"
        )

    def _unexpected_character(self, position: int) -> ValueError:
        char = self.text[position]
        if char in "'\"`":
            return self.error(f"unterminated {char}quoted{char} text", position, len(self.text))
        return self.error(f"unexpected character {char!r}", position)

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, expected: str) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise self.error(f"the filter ends where {expected} was expected")
        self.index += 1
        return token

    def parse(self) -> tuple[Comparison, ...]:
        comparisons = [self.comparison()]
        while (token := self.peek()) is not None:
            kind, word, start = token
            if kind == "keyword" and word.upper() == "AND":
                self.index += 1
                comparisons.append(self.comparison())
            elif kind == "keyword" and word.upper() == "OR":
                raise self.error(
                    "OR is not supported; only AND joins comparisons", start, start + 2
                )
            else:
                raise self.error(f"expected AND or the end of the filter, got {word!r}", start)
        return tuple(comparisons)

    def comparison(self) -> Comparison:
        kind, word, start = self.take("a field such as tags.<key> or status")
        if kind != "word":
            raise self.error(f"expected a field name, got {word!r}", start, start + len(word))
        field, key = self.field(word, start)
        operator = self.operator(field, word)
        value = self.value(field, operator)
        return Comparison(field, key, operator, value)

    def field(self, word: str, start: int) -> tuple[str, str | None]:
        head, _, rest = word.partition(".")
        head = head.lower()
        if head in _KEYED_PREFIXES and rest:
            return _KEYED_PREFIXES[head], _unquote_key(rest)
        name = rest.lower() if head in _ATTRIBUTE_PREFIXES and rest else word.lower()
        if name in _ATTRIBUTES:
            return _ATTRIBUTES[name], None
        what = f"{head}.<key> needs a key" if head in _KEYED_PREFIXES else f"unknown field {word!r}"
        raise self.error(what, start, start + len(word))

    def operator(self, field: str, field_word: str) -> str:
        kind, word, start = self.take(f"an operator after {field_word!r}")
        operator = {"==": "=", "<>": "!="}.get(word, word.upper())
        end = start + len(word)
        if operator == "NOT":
            next_token = self.peek()
            if next_token is None or next_token[1].upper() != "IN":
                raise self.error("NOT must be followed by IN", start, end)
            self.index += 1
            operator, end = "NOT IN", next_token[2] + 2
        if kind not in ("operator", "keyword") or operator not in OPERATORS[field]:
            allowed = ", ".join(sorted(OPERATORS[field]))
            raise self.error(
                f"expected an operator for {field_word!r} ({allowed}), got {word!r}", start, end
            )
        return operator

    def value(self, field: str, operator: str) -> str | float | tuple[str, ...]:
        if operator in ("IN", "NOT IN"):
            kind, word, start = self.take("a parenthesized list of quoted values")
            if word != "(":
                raise self.error(f"{operator} needs a list such as ('a', 'b'), got {word!r}", start)
            values = [self.text_value(field)]
            while True:
                kind, word, start = self.take("',' or ')'")
                if word == ")":
                    return tuple(values)
                if word != ",":
                    raise self.error(
                        f"expected ',' or ')' in the {operator} list, got {word!r}", start
                    )
                values.append(self.text_value(field))
        if field in (TIMESTAMP, DURATION):
            kind, word, start = self.take("a number")
            if kind != "number":
                raise self.error(
                    f"{field} compares with a number, got {word!r}", start, start + len(word)
                )
            number = float(word)
            return int(number) if number.is_integer() else number
        return self.text_value(field)

    def text_value(self, field: str) -> str:
        kind, word, start = self.take("a quoted value")
        if kind != "string":
            raise self.error(
                f"expected a quoted value such as 'text', got {word!r}", start, start + len(word)
            )
        quote = word[0]
        text = word[1:-1].replace(quote * 2, quote)
        if field == STATE:
            text = text.upper()
            if text not in _STATES:
                raise self.error(
                    f"status must be one of {', '.join(_STATES)}, got {word}",
                    start,
                    start + len(word),
                )
        return text


def _unquote_key(key: str) -> str:
    if len(key) >= 2 and key[0] == key[-1] and key[0] in '`"':
        return key[1:-1].replace('""', '"') if key[0] == '"' else key[1:-1]
    return key


def parse_filter(filter_string: str) -> tuple[Comparison, ...]:
    """Parse a filter string into its comparisons (all of which must hold).

    Args:
        filter_string: Text such as ``"tags.env = 'prod' AND timestamp_ms > 1700000000000"``.

    Returns:
        The comparisons, in order; empty for a blank filter.

    Raises:
        ValueError: If the filter is malformed; the message quotes it, points at the offending token
            and lists the supported fields.
    """
    if not filter_string.strip():
        return ()
    return _Parser(filter_string).parse()
