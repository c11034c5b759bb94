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
