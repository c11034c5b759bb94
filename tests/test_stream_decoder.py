"""The stream parser accepts every framing the docs allow, split anywhere."""

import json

import pytest

from convai_tui.api.errors import StreamProtocolError
from convai_tui.api.stream import FinalEvent, StreamDecoder, TurnsEvent, event_from_value

TURNS = [[{"role": "agent", "message": "Alo, da? ăîșț 日本", "time_in_call_secs": 0}],
         [{"role": "user", "message": "Bună {ziua} [bold]", "time_in_call_secs": 2},
          {"role": "agent", "message": "x\ny", "time_in_call_secs": 3}]]
FINAL = {"simulated_conversation": TURNS[0] + TURNS[1],
         "analysis": {"call_successful": "success", "transcript_summary": "ok", "new_field": 1}}
VALUES = TURNS + [FINAL]


def framings():
    nd = "".join(json.dumps(v, ensure_ascii=False) + "\n" for v in VALUES)
    sse = "".join(f"event: message\ndata: {json.dumps(v, ensure_ascii=False)}\n\n" for v in VALUES) + ": bye\n"
    b2b = "".join(json.dumps(v, ensure_ascii=False) for v in VALUES)
    pretty = "\n".join(json.dumps(v, ensure_ascii=False, indent=2) for v in VALUES)
    sse_multi = "".join("data: " + json.dumps(v, ensure_ascii=False, indent=1).replace("\n", "\ndata: ") + "\n\n"
                        for v in VALUES)
    return {"ndjson": nd, "sse": sse, "back_to_back": b2b, "pretty": pretty, "sse_multiline": sse_multi}


def decode_in_chunks(data: bytes, size: int) -> list:
    d = StreamDecoder()
    out = []
    for i in range(0, len(data), size):
        out.extend(d.feed(data[i:i + size]))
    out.extend(d.close())
    return out


@pytest.mark.parametrize("name", list(framings()))
def test_every_framing_every_split(name):
    data = framings()[name].encode()
    for size in (1, 2, 3, 7, 64, len(data)):
        assert decode_in_chunks(data, size) == VALUES, (name, size)


def test_values_come_out_as_soon_as_complete():
    d = StreamDecoder()
    first = (json.dumps(TURNS[0]) + "\n").encode()
    assert list(d.feed(first[:-5])) == []
    assert list(d.feed(first[-5:])) == [TURNS[0]]


def test_events_classify_turns_and_final():
    evs = [event_from_value(v) for v in VALUES]
    assert isinstance(evs[0], TurnsEvent) and evs[0].turns[0].message.startswith("Alo")
    assert isinstance(evs[2], FinalEvent)
    assert evs[2].analysis.call_successful == "success"
    assert evs[2].analysis.extra_fields == {"new_field": 1}


def test_malformed_json_is_an_error():
    d = StreamDecoder()
    with pytest.raises(StreamProtocolError, match="malformed"):
        list(d.feed(b'[{"role": "agent", "message": x}]\n'))


def test_truncated_stream_is_an_error_at_close():
    d = StreamDecoder()
    assert list(d.feed(b'[{"role": "agent", "mess')) == []
    with pytest.raises(StreamProtocolError, match="ended inside"):
        list(d.close())


def test_invalid_utf8_is_an_error():
    with pytest.raises(StreamProtocolError, match="UTF-8"):
        list(StreamDecoder().feed(b'["\xff\xfe"]'))


# ----------------------------------------------------------------------------- every split point
# Values that exercise what a TCP split can cut: literals, numbers, escapes (\uXXXX, a surrogate
# pair, \" and \\), multi-byte UTF-8, brackets inside strings, empty containers, top-level scalars.
TRICKY = [
    [{"role": "agent", "message": "q\"uote \\ back\nnl \u00e9 \U0001F600 ]}[{ data: x", "time_in_call_secs": -15,
      "interrupted": True, "feedback": None, "flags": [True, False, None, 0, -0.5, 1.5e-7, 12345678901234567890]}],
    {"simulated_conversation": [], "analysis": {"call_successful": "success", "x": "ăîșț 日本 \U0001F600"}},
    [], {}, [[[]], {"a": {}}], "top-level string", 12, True, False, None, -3.25e10,
]


def tricky_framings() -> dict[str, bytes]:
    def dump(v, **kw):
        return json.dumps(v, **kw)

    out = {}
    for asc in (True, False):  # \uXXXX escapes and surrogate pairs, or raw UTF-8
        tag = "ascii" if asc else "utf8"
        out[f"ndjson-{tag}"] = "".join(dump(v, ensure_ascii=asc) + "\n" for v in TRICKY)
        out[f"ndjson-crlf-{tag}"] = "".join(dump(v, ensure_ascii=asc) + "\r\n" for v in TRICKY)
        out[f"sse-{tag}"] = (": hello\r\nretry: 100\n" + "".join(
            f"event: message\r\nid: {i}\r\ndata: {dump(v, ensure_ascii=asc)}\r\n\r\n" for i, v in enumerate(TRICKY))
            + "data: [DONE]\n\n")
        out[f"sse-nospace-{tag}"] = "".join(f"data:{dump(v, ensure_ascii=asc)}\n\n" for v in TRICKY)
        out[f"sse-multiline-{tag}"] = "".join(
            "data: " + dump(v, ensure_ascii=asc, indent=1).replace("\n", "\ndata: ") + "\n\n" for v in TRICKY)
        # back to back: structures need no separator; a number or literal needs a delimiter after it
        out[f"b2b-{tag}"] = "".join(dump(v, ensure_ascii=asc) + ("" if isinstance(v, (list, dict, str)) else " ")
                                    for v in TRICKY)
        out[f"pretty-{tag}"] = "\n".join(dump(v, ensure_ascii=asc, indent=2) for v in TRICKY)
    return {k: v.encode() for k, v in out.items()}


def decode_split(data: bytes, cuts: list[int], **kw) -> list:
    d = StreamDecoder(**kw)
    out = []
    prev = 0
    for c in [*cuts, len(data)]:
        out.extend(d.feed(data[prev:c]))
        prev = c
    out.extend(d.close())
    return out


@pytest.mark.parametrize("name", list(tricky_framings()))
def test_every_framing_split_at_every_byte(name):
    """Split once at every byte, and fed byte by byte: always the same values. Before: 30 of 601
    split points of a stream with literals and escapes were reported as malformed."""
    data = tricky_framings()[name]
    assert decode_split(data, []) == TRICKY
    assert decode_split(data, list(range(1, len(data)))) == TRICKY, "byte by byte"
    for i in range(1, len(data)):
        assert decode_split(data, [i]) == TRICKY, (name, i, data[max(0, i - 10):i], data[i:i + 10])


def test_gzip_encoded_stream_split_at_every_byte():
    import gzip
    import zlib

    from convai_tui.api.guards import ContentDecoder

    plain = tricky_framings()["ndjson-utf8"]
    for enc, comp in (("gzip", gzip.compress(plain)), ("deflate", zlib.compress(plain)),
                      ("deflate", zlib.compress(plain)[2:-4])):  # raw deflate, as some servers send it

        def run(cuts):
            c, d, out, prev = ContentDecoder(enc, limit=None), StreamDecoder(), [], 0
            for cut in [*cuts, len(comp)]:
                for piece in c.feed(comp[prev:cut]):
                    out.extend(d.feed(piece))
                prev = cut
            for piece in c.flush():
                out.extend(d.feed(piece))
            return out + list(d.close())

        assert run(list(range(1, len(comp)))) == TRICKY
        for i in range(1, len(comp)):
            assert run([i]) == TRICKY, (enc, i)


@pytest.mark.parametrize("text", ["tru", "nul", "fals", "-", "1e", "1.", '"\\u00', '"\\ud83d\\ude0', '"a\\'])
def test_a_value_cut_by_the_end_of_the_stream_is_an_error_at_close(text):
    d = StreamDecoder()
    assert list(d.feed(text.encode())) == []
    with pytest.raises(StreamProtocolError):
        list(d.close())


@pytest.mark.parametrize("data,match", [
    (b"[1, 2 3]\n[4]\n", "malformed"), (b"[NaN]\n", "malformed"), (b"Infinity\n", "unexpected text"),
    (b"true1\n", "malformed"), (b"[" + b"1" * 5000 + b"]\n", "malformed"), (b"[" * 300 + b"]" * 300, "nested"),
    (b"hello world\n", "unexpected text"), (b"x" * 100, "unexpected text"), (b"data: hello\n\n", "SSE data"),
    (b'data: {"a":\n\n', "ended inside"), (b'[{"a": "\x80"}]\n', "UTF-8"),
])
def test_malformed_streams_are_protocol_errors(data, match):
    for cuts in ([], list(range(1, len(data)))):
        with pytest.raises(StreamProtocolError, match=match):
            decode_split(data, cuts)


def test_values_lines_and_fields_are_capped():
    """A value, an SSE event's data, a field name: each bounded; a comment line is skipped
    without being kept."""
    import tracemalloc

    with pytest.raises(StreamProtocolError, match="longer than 1,000 characters"):
        decode_split(b'["' + b"x" * 5000 + b'"]\n', [100, 2000, 4000], max_value=1000)
    with pytest.raises(StreamProtocolError, match="longer than 1,000 characters"):
        decode_split(b'["' + b"x" * 5000 + b'"]\n', [], max_value=1000)
    with pytest.raises(StreamProtocolError, match="longer than 1,000 characters"):
        decode_split(b'data: ["' + b"x" * 5000, [10, 3000], max_value=1000)
    with pytest.raises(StreamProtocolError, match="unexpected text"):
        decode_split(b"e" * 100 + b": x\n", [50])
    d = StreamDecoder(max_value=1000)
    tracemalloc.start()
    try:
        list(d.feed(b": "))
        block = b"z" * 65536
        for _ in range(200):  # a 13 MB comment line
            list(d.feed(block))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000
    assert list(d.feed(b'\n[1]\n')) == [[1]]


@pytest.mark.parametrize("shape,mb", [("string", 64), ("escapes", 16), ("structure", 8), ("sse", 16)])
def test_a_huge_value_costs_linear_time(shape, mb):
    """A string of 64 MB (and other shapes of 8-16 MB) in 64 KB chunks, well within a bound a
    quadratic decoder cannot meet. Before: 67 s for the 64 MB string (each chunk re-parsed the
    whole buffer); now under 1 s on an idle machine."""
    import time

    n = mb * 10**6
    data = {"string": lambda: b'["' + b"x" * n + b'"]\n',
            "escapes": lambda: b'["' + b"\\n" * (n // 2) + b'"]\n',
            "structure": lambda: json.dumps([{"role": "agent", "message": "hi", "n": [1, None]}] * (n // 48)).encode(),
            "sse": lambda: b'data: ["' + b"x" * n + b'"]\n\n'}[shape]()
    d = StreamDecoder(max_value=2**27)
    t0 = time.monotonic()
    out = []
    for i in range(0, len(data), 65536):
        out.extend(d.feed(data[i:i + 65536]))
    out.extend(d.close())
    took = time.monotonic() - t0
    assert len(out) == 1
    assert took < 20, took
