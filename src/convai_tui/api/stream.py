"""Incremental parser for the simulate-conversation stream.

The endpoint is documented only as "partial lists of messages that should be
concatenated, then once the conversation is complete a single final message with the
conversation analysis". The exact framing is not documented, so :class:`StreamDecoder`
accepts all of these, with chunk boundaries anywhere (even inside a UTF-8 sequence):

* newline-delimited JSON (one value per line) - what the bundled emulator sends;
* Server-Sent Events (``data: <json>`` lines, ``event:``/``id:``/``retry:``/comment
  lines ignored, multi-line ``data`` joined);
* JSON values back to back with or without whitespace between them.

Each decoded value becomes an event:

* a JSON array -> :class:`TurnsEvent` with the new turns;
* an object with ``analysis`` -> :class:`FinalEvent` (it may repeat the whole
  ``simulated_conversation``);
* an object with ``role`` -> a :class:`TurnsEvent` of one turn;
* an object with ``simulated_conversation`` and no analysis -> :class:`TurnsEvent`;
* an object with ``detail``/``error`` -> :class:`ErrorEvent`;
* anything else -> :class:`UnknownEvent` (kept, never fatal).
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field
from typing import Any, Generator, Iterator

from ..textutil import no_surrogates
from .errors import StreamProtocolError
from .models import ConversationAnalysis, SimulationResponse, TranscriptTurn

MAX_DEPTH = 200  # JSON nested deeper than this is refused (pydantic cannot serialise past ~255)
DEFAULT_MAX_VALUE = 64 * 2**20  # characters of one value (or SSE event) in a stream


class JSONError(ValueError):
    """Text that is not strict JSON (``msg`` says why), or nested deeper than ``MAX_DEPTH``."""


def _no_constant(name: str) -> Any:
    raise JSONError(f"{name} is not valid JSON")


_decoder = json.JSONDecoder(parse_constant=_no_constant)


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when ``value`` nests lists/dicts more than ``limit`` levels deep (iterative)."""
    if type(value) not in (dict, list):
        return False
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if d > limit:
            return True
        d += 1
        for x in (v.values() if type(v) is dict else v):
            if type(x) is dict or type(x) is list:
                stack.append((x, d))
    return False


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _no_lone_surrogates(value: Any, text: str) -> Any:
    """``value`` with every lone surrogate (``"\\ud800"`` is valid JSON, but not text: it cannot be
    printed, saved or serialised by pydantic) replaced by U+FFFD, in strings and keys. Costs nothing
    unless ``text`` has such an escape (a valid pair is decoded to one character by ``json``)."""
    return _fix_surrogates(value) if _SURROGATE_ESCAPE.search(text) else value


def _fix_surrogates(v: Any) -> Any:
    if isinstance(v, str):
        return no_surrogates(v)
    if isinstance(v, dict):
        return {_fix_surrogates(k): _fix_surrogates(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_fix_surrogates(x) for x in v]
    return v  # (recursion: the depth is bounded by MAX_DEPTH by the time this runs)


def loads(data: str | bytes, *, max_depth: int | None = MAX_DEPTH) -> Any:
    """Strict JSON (no NaN/Infinity), at most ``max_depth`` levels deep; raises :class:`JSONError`
    (a ``ValueError``) for anything else: malformed text, invalid UTF-8, a number too long to convert,
    a nesting too deep. ``max_depth=None``: the caller checked the depth."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        value = _decoder.decode(text)
    except RecursionError:
        raise JSONError(f"nested more than {max_depth} levels deep") from None
    except json.JSONDecodeError as exc:
        raise JSONError(f"{exc.msg} (at character {exc.pos})") from None
    except UnicodeDecodeError as exc:
        raise JSONError(f"not valid UTF-8 (at byte {exc.start})") from None
    except ValueError as exc:  # a number with too many digits; NaN/Infinity
        raise JSONError(str(exc)[:120]) from None
    if max_depth is not None and _brackets(text) > max_depth and too_deep(value, max_depth):
        raise JSONError(f"nested more than {max_depth} levels deep")
    return _no_lone_surrogates(value, text)


def _brackets(text: str, start: int = 0, end: int | None = None) -> int:
    """Opening brackets in ``text`` (strings included): a bound on the nesting depth, in C."""
    return text.count("[", start, end) + text.count("{", start, end)


@dataclass(slots=True)
class TurnsEvent:
    turns: list[TranscriptTurn]


@dataclass(slots=True)
class FinalEvent:
    analysis: ConversationAnalysis
    simulated_conversation: list[TranscriptTurn] | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ErrorEvent:
    detail: Any


@dataclass(slots=True)
class UnknownEvent:
    value: Any


StreamEvent = TurnsEvent | FinalEvent | ErrorEvent | UnknownEvent


def event_from_value(value: Any) -> StreamEvent:
    if isinstance(value, list):
        return TurnsEvent([TranscriptTurn.model_validate(t) for t in value if isinstance(t, dict)])
    if isinstance(value, dict):
        if "analysis" in value:
            resp = value
            conv = resp.get("simulated_conversation")
            return FinalEvent(
                analysis=ConversationAnalysis.model_validate(resp["analysis"] or {}),
                simulated_conversation=(
                    [TranscriptTurn.model_validate(t) for t in conv] if isinstance(conv, list) else None
                ),
                raw=resp,
            )
        if "role" in value:
            return TurnsEvent([TranscriptTurn.model_validate(value)])
        if isinstance(value.get("simulated_conversation"), list):
            return TurnsEvent([TranscriptTurn.model_validate(t) for t in value["simulated_conversation"]])
        if "detail" in value or "error" in value:
            return ErrorEvent(value.get("detail", value.get("error")))
    return UnknownEvent(value)


_JSON_START = frozenset('[{"-0123456789tfn')
_OPENERS = frozenset('[{"')
_NOT_WS = re.compile(r"[^ \t\r\n]")
_STR_BODY = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+', re.S)  # up to a closing quote or a lone backslash
_STRING = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"'  # a complete string
_STRINGS = re.compile(_STRING, re.S)
_TO_BRACKET = re.compile(r'(?:[^"\[\]{}]++|' + _STRING + r')*+', re.S)  # up to a bracket or an unfinished string
_TO_QUOTE = re.compile(r'(?:[^"]++|' + _STRING + r')*+', re.S)  # up to an unfinished string
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_ONE_KIND = str.maketrans("{}", "[]")
_BULK = 2048  # below this many characters, the token scanner alone
_SCALAR_END = re.compile(r'[ \t\r\n\[\]{},:"]')
_FIELD_END = re.compile(r"[:\n]")
_LINE_LEAD = re.compile(r"[ \t\r]*")
_SKIP = object()

_IDLE, _IN_STRUCT, _IN_STRING, _IN_SCALAR = range(4)


class _Values:
    """Where JSON values end, across chunks, each character scanned once (no re-parsing).

    A value that starts and ends inside one piece of text is parsed directly; one that runs
    past the end of the text is followed by a small state machine (depth, inside a string,
    after a backslash, inside a number or literal) whose text is kept in pieces and parsed
    once, when it ends. A split anywhere (inside ``true``, a number, ``\\uXXXX``, a surrogate
    pair) is therefore never mistaken for an error, and a 64 MB value costs linear time."""

    __slots__ = ("max_len", "where", "sse", "parts", "size", "state", "depth", "esc", "count", "_value")

    def __init__(self, max_len: int, where: str, *, sse: bool = False) -> None:
        self.max_len = max_len
        self.where = where
        self.sse = sse  # SSE data: "[DONE]" is an end marker, not an error
        self.parts: list[str] = []
        self.size = 0
        self.state = _IDLE
        self.depth = 0
        self.esc = False
        self.count = 0  # values completed
        self._value: Any = None  # the value _whole() parsed

    @property
    def busy(self) -> bool:
        return self.state != _IDLE

    def _error(self, msg: str) -> StreamProtocolError:
        return StreamProtocolError(f"malformed JSON in {self.where} (value {self.count + 1}): {msg}")

    def _too_long(self) -> StreamProtocolError:
        return StreamProtocolError(
            f"a value in the {self.where} is longer than {self.max_len:,} characters; stopped reading it")

    def _parse(self, text: str) -> Any:
        if self.sse and text == "[DONE]":
            return _SKIP
        try:
            return loads(text, max_depth=None)  # the scanner kept the depth within MAX_DEPTH
        except JSONError as exc:
            raise self._error(str(exc)) from None

    def feed(self, text: str, pos: int, end: int) -> Generator[Any, None, int]:
        """Yield the values completed in ``text[pos:end]``; return where scanning stopped:
        ``end``, or (between values) a character that cannot start a JSON value."""
        while pos < end:
            if self.state == _IDLE:
                m = _NOT_WS.search(text, pos, end)
                if m is None:
                    return end
                pos = m.start()
                ch = text[pos]
                if ch not in _JSON_START:
                    return pos
                stop = self._whole(text, pos, end)
                if stop is not None:  # the value ended inside this text: parsed in one go
                    value = self._value
                    self._value = None
                    self.count += 1
                    pos = stop
                    if value is not _SKIP:
                        yield value
                    continue
                self._begin(ch)
                start = pos
                if ch == '"':
                    pos += 1
            else:
                start = pos
            stop = self._scan(text, pos, end)
            if stop is None:
                self.size += end - start
                if self.size > self.max_len:
                    raise self._too_long()
                self.parts.append(text[start:end])
                return end
            piece = text[start:stop]
            whole = "".join(self.parts) + piece if self.parts else piece
            self.parts, self.size, self.state = [], 0, _IDLE
            if len(whole) > self.max_len:
                raise self._too_long()
            value = self._parse(whole)
            self.count += 1
            pos = stop
            if value is not _SKIP:
                yield value
        return pos

    def _whole(self, text: str, pos: int, end: int) -> int | None:
        """Parse a value that starts at ``pos`` and ends before ``end``; its end, or None when it
        runs past ``end`` (then the state machine takes it from ``pos``)."""
        if self.sse and text.startswith("[DONE]", pos) and pos + 6 <= end:
            self._value = _SKIP
            return pos + 6
        src = text if end == len(text) else text[:end]
        try:
            value, stop = _decoder.raw_decode(src, pos)
        except json.JSONDecodeError as exc:
            if exc.msg.startswith("Unterminated string") or exc.pos >= end - 6:
                return None  # explained by the text ending here: wait for more
            raise self._error(f"{exc.msg} (at character {exc.pos - pos} of the value)") from None
        except RecursionError:
            raise self._error(f"nested more than {MAX_DEPTH} levels deep") from None
        except ValueError as exc:  # NaN/Infinity, a number with too many digits
            raise self._error(str(exc)[:120]) from None
        if text[pos] not in _OPENERS:
            # a number or literal: complete only when a delimiter follows (12|3 is 123)
            if stop >= end:
                return None
            if not _SCALAR_END.match(text, stop):
                if _SCALAR_END.search(text, stop, end) is None:
                    return None  # "1." "1e" "-1e+": the token may go on in the next chunk
                raise self._error(f"unexpected {text[stop]!r} after {text[pos:stop][:20]!r}")
        if stop - pos > self.max_len:
            raise self._too_long()
        if _brackets(src, pos, stop) > MAX_DEPTH and too_deep(value):
            raise self._error(f"nested more than {MAX_DEPTH} levels deep")
        if _SURROGATE_ESCAPE.search(src, pos, stop):
            value = _fix_surrogates(value)
        self._value = value
        return stop

    def _begin(self, ch: str) -> None:
        self.parts, self.size, self.depth, self.esc = [], 0, 0, False
        self.state = _IN_STRING if ch == '"' else _IN_SCALAR if ch not in "[{" else _IN_STRUCT

    def _scan(self, text: str, i: int, end: int) -> int | None:
        """Advance the state machine over ``text[i:end]``; the end of the value if it ends there."""
        st, depth = self.state, self.depth
        bulk = end - i > _BULK  # tried once per text: a failed try must not repeat at every token
        while i < end:
            if st == _IN_STRING:
                if self.esc:
                    self.esc = False
                    i += 1
                    continue
                i = _STR_BODY.match(text, i, end).end()  # type: ignore[union-attr]
                if i >= end:
                    break
                if text[i] == "\\":  # a backslash whose escaped character is in the next chunk
                    self.esc = True
                    i += 1
                    continue
                i += 1  # the closing quote
                if depth == 0:
                    self.state = _IDLE
                    return i
                st = _IN_STRUCT
            elif st == _IN_STRUCT:
                if bulk:
                    bulk = False
                    # Bulk, all in C: drop the complete strings, keep the brackets, cancel the
                    # matched pairs. What is left is "]]..[[..": the value can only end here if
                    # the unmatched closers reach the depth; if not, consume the text whole.
                    j = _TO_QUOTE.match(text, i, end).end()  # type: ignore[union-attr]
                    seg = text[i:j]
                    if '"' in seg:
                        seg = _STRINGS.sub("", seg)
                    b = _NOT_BRACKETS.sub("", seg).translate(_ONE_KIND)
                    passes = 0
                    while "[]" in b and passes < 32:
                        b = b.replace("[]", "")
                        passes += 1
                    if "[]" not in b:
                        closers = len(b) - len(b.lstrip("]"))
                        # the deepest point in this text is at most depth + openers + passes
                        if closers < depth and depth + len(b) - closers + passes <= MAX_DEPTH:
                            depth += len(b) - 2 * closers
                            i = j
                            if i < end:  # an unfinished string runs to the end of the text
                                st = _IN_STRING
                                i += 1
                            continue
                i = _TO_BRACKET.match(text, i, end).end()  # type: ignore[union-attr]
                if i >= end:
                    break
                c = text[i]
                i += 1
                if c == '"':  # a string that does not end in this text
                    st = _IN_STRING
                elif c == "[" or c == "{":
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise self._error(f"nested more than {MAX_DEPTH} levels deep")
                else:
                    depth -= 1
                    if depth <= 0:
                        self.state, self.depth = _IDLE, 0
                        return i
            else:  # a number or literal: it ends at the first delimiter
                m = _SCALAR_END.search(text, i, end)
                if m is None:
                    i = end
                    break
                self.state = _IDLE
                return m.start()
        self.state, self.depth = st, depth
        return None

    def finish(self) -> Iterator[Any]:
        """At the end of the input: a pending number/literal is complete; anything else is cut."""
        if self.state == _IN_SCALAR:
            whole = "".join(self.parts)
            self.parts, self.size, self.state = [], 0, _IDLE
            value = self._parse(whole)
            self.count += 1
            if value is not _SKIP:
                yield value
        elif self.state != _IDLE:
            head = (self.parts[0] if self.parts else "")[:80]
            self.parts, self.size, self.state = [], 0, _IDLE
            raise StreamProtocolError(f"{self.where} ended inside a JSON value: {head!r}")


_TOP, _FIELD, _DATA, _IGNORE, _SSE_LINE = range(5)
_SSE_IGNORED = ("event", "id", "retry", "")


class StreamDecoder:
    """Feed bytes, get JSON values as soon as each one is complete.

    Linear in the input whatever the chunking; memory is bounded by ``max_value``: a value (or
    an SSE event's data) longer than that many characters is a :class:`StreamProtocolError`,
    as is a line that is neither JSON nor an SSE field. Lines end with LF or CRLF."""

    def __init__(self, *, max_value: int = DEFAULT_MAX_VALUE) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._json = _Values(max_value, "stream")
        self._sse = _Values(max_value, "SSE data", sse=True)
        self._mode = _TOP
        self._field = ""
        self._sse_open = False  # data lines seen since the last dispatch

    def feed(self, chunk: bytes) -> Iterator[Any]:
        try:
            text = self._utf8.decode(chunk)
        except UnicodeDecodeError as exc:
            raise StreamProtocolError(f"stream is not valid UTF-8: {exc}") from None
        if text:
            yield from self._process(text)

    def close(self) -> Iterator[Any]:
        """Flush at end of stream; raises if a partial value is left."""
        try:
            text = self._utf8.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise StreamProtocolError(f"stream ended inside a UTF-8 sequence: {exc}") from None
        if text:
            yield from self._process(text)
        mode, self._mode = self._mode, _TOP
        if mode == _TOP:
            yield from self._json.finish()
        elif mode == _FIELD:
            name, self._field = self._field.strip(), ""
            if name == "data":
                yield from self._data_line()
            elif name not in _SSE_IGNORED:
                raise StreamProtocolError(f"unexpected text in stream: {name[:80]!r}")
        if self._sse_open:
            yield from self._dispatch()

    # -- internals
    def _data_line(self) -> Iterator[Any]:
        if self._sse_open:  # the data lines of one event are joined with "\n"
            yield from self._sse.feed("\n", 0, 1)
        self._sse_open = True

    def _dispatch(self) -> Iterator[Any]:
        self._sse_open = False
        yield from self._sse.finish()

    def _process(self, text: str) -> Iterator[Any]:
        pos, n = 0, len(text)
        while pos < n:
            mode = self._mode
            if mode == _TOP:
                pos = yield from self._json.feed(text, pos, n)
                if pos < n:  # not JSON: an SSE field line (or junk)
                    self._mode, self._field = _FIELD, ""
            elif mode == _FIELD:
                m = _FIELD_END.search(text, pos)
                stop = m.start() if m else n
                self._field += text[pos:stop]
                if len(self._field) > 64:
                    raise StreamProtocolError(f"unexpected text in stream: {self._field[:80]!r}")
                if m is None:
                    return
                name, self._field = self._field.strip(), ""
                pos = stop + 1
                if name == "data":
                    yield from self._data_line()
                    self._mode = _DATA if m.group() == ":" else _SSE_LINE
                elif name in _SSE_IGNORED:
                    self._mode = _IGNORE if m.group() == ":" else (_SSE_LINE if self._sse_open else _TOP)
                else:
                    raise StreamProtocolError(f"unexpected text in stream: {name[:80]!r}")
            elif mode == _DATA:
                nl = text.find("\n", pos)
                stop = n if nl < 0 else nl
                if stop > pos:
                    got = yield from self._sse.feed(text, pos, stop)
                    if got < stop:
                        raise StreamProtocolError(
                            f"malformed JSON in SSE data: unexpected text {text[got:min(stop, got + 40)]!r}")
                if nl < 0:
                    return
                pos = nl + 1
                self._mode = _SSE_LINE
            elif mode == _IGNORE:
                nl = text.find("\n", pos)
                if nl < 0:
                    return
                pos = nl + 1
                self._mode = _SSE_LINE if self._sse_open else _TOP
            else:  # _SSE_LINE: the start of a line inside an SSE event; a blank line ends the event
                pos = _LINE_LEAD.match(text, pos).end()  # type: ignore[union-attr]
                if pos >= n:
                    return
                ch = text[pos]
                if ch == "\n":
                    pos += 1
                    self._mode = _TOP
                    yield from self._dispatch()
                elif ch in _JSON_START:  # a bare JSON value right after SSE data ends the event
                    self._mode = _TOP
                    yield from self._dispatch()
                else:
                    self._mode, self._field = _FIELD, ""


def assemble_response(turns: list[TranscriptTurn], final: FinalEvent) -> SimulationResponse:
    """The full response: the final message's transcript when given, else the concatenation."""
    conv = final.simulated_conversation if final.simulated_conversation else turns
    return SimulationResponse(simulated_conversation=conv, analysis=final.analysis)
