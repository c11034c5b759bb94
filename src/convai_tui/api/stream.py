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
from dataclasses import dataclass, field
from typing import Any, Iterator

from .errors import StreamProtocolError
from .models import ConversationAnalysis, SimulationResponse, TranscriptTurn

_decoder = json.JSONDecoder()
_WS = " \t\r\n"


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


class StreamDecoder:
    """Feed bytes, get JSON values as soon as each one is complete."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._buf = ""
        self._sse_data: list[str] | None = None  # pending multi-line SSE data

    def feed(self, chunk: bytes) -> Iterator[Any]:
        try:
            self._buf += self._utf8.decode(chunk)
        except UnicodeDecodeError as exc:
            raise StreamProtocolError(f"stream is not valid UTF-8: {exc}") from exc
        yield from self._drain(final=False)

    def close(self) -> Iterator[Any]:
        """Flush at end of stream; raises if a partial value is left."""
        try:
            self._buf += self._utf8.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise StreamProtocolError(f"stream ended inside a UTF-8 sequence: {exc}") from exc
        yield from self._drain(final=True)
        if self._sse_data:
            yield from self._decode_sse_block(final=True)
        rest = self._buf.strip(_WS)
        if rest:
            self._buf = ""
            raise StreamProtocolError(f"stream ended inside a JSON value: {rest[:80]!r}")

    # -- internals
    def _drain(self, final: bool) -> Iterator[Any]:
        buf = self._buf
        pos = 0
        n = len(buf)
        while True:
            while pos < n and buf[pos] in _WS:
                pos += 1
            if pos >= n:
                break
            ch = buf[pos]
            if ch in "[{\"-0123456789tfn":
                if self._sse_data:
                    # a JSON value directly after SSE data: close the SSE block first
                    yield from self._decode_sse_block(final=True)
                try:
                    value, end = _decoder.raw_decode(buf, pos)
                except json.JSONDecodeError as exc:
                    if _maybe_incomplete(buf, pos, exc):
                        if not final:
                            break
                        raise StreamProtocolError(
                            f"stream ended inside a JSON value: {buf[pos:pos + 80]!r}") from exc
                    raise StreamProtocolError(
                        f"malformed JSON in stream at char {exc.pos}: {exc.msg}"
                    ) from exc
                # A number/literal at the very end of the buffer may still be growing.
                if end >= n and not final and ch not in "[{\"":
                    break
                pos = end
                yield value
                continue
            # A line-oriented SSE field (or junk): needs the whole line.
            nl = buf.find("\n", pos)
            if nl < 0:
                if not final:
                    break
                nl = n
            line = buf[pos:nl].rstrip("\r")
            pos = nl + 1
            if line.startswith("data:"):
                data = line[5:]
                if data.startswith(" "):
                    data = data[1:]
                if self._sse_data is None:
                    self._sse_data = []
                self._sse_data.append(data)
                # data lines are usually a whole JSON value: try to decode right away
                yield from self._decode_sse_block(final=False)
            elif line.startswith(("event:", "id:", "retry:", ":")):
                continue
            else:
                raise StreamProtocolError(f"unexpected text in stream: {line[:80]!r}")
        self._buf = buf[pos:]

    def _decode_sse_block(self, final: bool) -> Iterator[Any]:
        text = "\n".join(self._sse_data or []).strip(_WS)
        if not text or text == "[DONE]":
            self._sse_data = None
            return
        try:
            value, end = _decoder.raw_decode(text)
        except json.JSONDecodeError as exc:
            if not final:
                return  # wait for more data lines
            raise StreamProtocolError(f"malformed JSON in SSE data: {exc.msg}") from exc
        if text[end:].strip(_WS):
            if not final:
                return
            raise StreamProtocolError("extra text after JSON in SSE data")
        self._sse_data = None
        yield value


def _maybe_incomplete(buf: str, pos: int, exc: json.JSONDecodeError) -> bool:
    """True when the decode error is explained by the value running off the end."""
    # Errors raised at (or about) the end of the buffer mean "need more bytes".
    if exc.pos >= len(buf) - 1:
        return True
    # "Unterminated string" is reported at the string's start.
    if exc.msg.startswith("Unterminated string"):
        return True
    return False


def assemble_response(turns: list[TranscriptTurn], final: FinalEvent) -> SimulationResponse:
    """The full response: the final message's transcript when given, else the concatenation."""
    conv = final.simulated_conversation if final.simulated_conversation else turns
    return SimulationResponse(simulated_conversation=conv, analysis=final.analysis)
