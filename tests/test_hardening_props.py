"""Property-based tests (Hypothesis): generated hostile text, JSON, streams and TOML thrown at the
sanitiser, the stream decoder, ``event_from_value``, the API models, the client's error path and
the workspace loader. Deterministic (``derandomize=True``) and bounded: each runs in seconds."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import httpx
import pydantic
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convai_tui.api import errors as E
from convai_tui.api import models as M
from convai_tui.api.client import ConvAIClient, _validate
from convai_tui.api.errors import StreamProtocolError
from convai_tui.api.stream import StreamDecoder, event_from_value, loads
from convai_tui.textutil import one_line, safe
from convai_tui.workspace import files as F
from convai_tui.workspace.store import Workspace
from convai_tui.workspace.versions import PromptDraft

PROPS = settings(derandomize=True, max_examples=400, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])
FEW = settings(PROPS, max_examples=120)

# Every character, surrogates included, with the dangerous ones much more likely than by chance.
SPECIAL = ("\x1b", "\x07", "\x08", "\r", "\n", "\r\n", "\t", "\x00", "\x7f", "\x85", "\x9b", "\x0b", "\x0c", "\x1c",
           "\u202a", "\u202e", "\u2066", "\u2069", "\u200b", "\u200d", "\u200e", "\u2028", "\u2029", "\ufeff",
           "\U000e0041", "\ud800", "\udfff", "\ud83d\ude00", "\x1b]52;c;ZXZpbA==\x07", "\x1b[2J", "␛", "<U+202E>",
           " ⏎ ", "…", "[bold]", "é", "日本", "\u0301")
chars = st.characters(exclude_categories=())
hostile_text = st.lists(st.one_of(chars, st.sampled_from(SPECIAL)), max_size=40).map("".join)

BIDI_AND_INVISIBLE = set("\u00ad\u061c\u180e\u200b\u200e\u200f\u2028\u2029\ufeff\ufff9\ufffa\ufffb") | {
    chr(c) for c in [*range(0x202A, 0x202F), *range(0x2060, 0x2070), *range(0xE0000, 0xE0080)]}
LINE_BREAKERS = set("\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")  # what str.splitlines also splits on


def assert_terminal_safe(out: str, *, newline_ok: bool) -> None:
    for c in out:
        cat = unicodedata.category(c)
        assert cat != "Cs", repr(out)
        assert cat != "Cc" or (c == "\n" and newline_ok), repr(out)
        assert c not in BIDI_AND_INVISIBLE and c not in LINE_BREAKERS, repr(out)
    out.encode("utf-8")  # never raises


# ----------------------------------------------------------------------------- the sanitiser
@PROPS
@given(hostile_text, st.sampled_from([None, 1, 5, 40, 120]))
def test_safe_output_is_terminal_safe_bounded_and_stable(text, limit):
    out = safe(text, limit=limit)
    assert_terminal_safe(out, newline_ok=True)
    assert safe(out, limit=limit) == out
    if limit is not None:
        assert len(out) <= max(limit, 1)
    if text.isprintable() and limit is None:
        assert out == text  # printable text is untouched


@PROPS
@given(hostile_text, st.sampled_from([1, 3, 24, 120]))
def test_one_line_output_is_one_safe_line_and_stable(text, limit):
    out = one_line(text, limit)
    assert_terminal_safe(out, newline_ok=False)
    assert len(out.splitlines()) <= 1 and len(out) <= limit
    assert one_line(out, limit) == out
    assert one_line(safe(text)) == one_line(text)


def test_sanitiser_examples():
    assert safe("a\x1b]52;c;ZXZpbA==\x07b") == "a␛]52;c;ZXZpbA==␇b"
    assert safe("x\r\ny\rz\tw") == "x\ny␍z    w"
    assert safe("pay\u200bpal \u202eevil\u202c") == "pay<U+200B>pal <U+202E>evil<U+202C>"
    assert safe("a\u2028b\x85c\x9b") == "a\nb<U+0085>c<U+009B>"
    assert safe("lone \ud800 and \U0001F600 and e\u0301") == "lone \ufffd and \U0001F600 and e\u0301"
    assert safe("tag\U000e0041") == "tag<U+E0041>"
    assert one_line("two\nlines") == "two ⏎ lines"
    assert one_line("x" * 200, 10) == "x" * 9 + "…"
    assert safe(None) == "" and safe(12) == "12"

    class Hostile:
        def __str__(self):
            raise RuntimeError("no")

    assert safe(Hostile()) == "<Hostile>"


# ----------------------------------------------------------------------------- JSON and streams
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**60, max_value=10**60),
                         st.floats(allow_nan=False, allow_infinity=False), hostile_text)
json_values = st.recursive(json_scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=5), st.dictionaries(hostile_text, kids, max_size=5)), max_leaves=25)


def dumps(v, ascii_only: bool, indent=None) -> str:
    try:
        s = json.dumps(v, ensure_ascii=ascii_only, indent=indent)
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:  # a lone surrogate: only its \u escape is valid UTF-8
        return json.dumps(v, ensure_ascii=True, indent=indent)


def frame(values: list, framing: str, ascii_only: bool) -> bytes:
    if framing == "ndjson":
        text = "".join(dumps(v, ascii_only) + "\n" for v in values)
    elif framing == "ndjson-crlf":
        text = "".join(dumps(v, ascii_only) + "\r\n" for v in values)
    elif framing == "sse":
        text = "".join(f"id: {i}\r\nevent: m\r\ndata: {dumps(v, ascii_only)}\r\n\r\n" for i, v in enumerate(values))
    elif framing == "sse-multiline":
        text = "".join("data: " + dumps(v, ascii_only, 1).replace("\n", "\ndata: ") + "\n\n" for v in values)
    elif framing == "b2b":
        text = "".join(dumps(v, ascii_only) + ("" if isinstance(v, (list, dict, str)) else " ") for v in values)
    else:
        text = "\n".join(dumps(v, ascii_only, 2) for v in values)
    return text.encode("utf-8")


@st.composite
def framed_streams(draw):
    values = draw(st.lists(json_values, min_size=1, max_size=6))
    framing = draw(st.sampled_from(["ndjson", "ndjson-crlf", "sse", "sse-multiline", "b2b", "pretty"]))
    data = frame(values, framing, draw(st.booleans()))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(data) - 1)), max_size=12)))
    return values, data, cuts


@settings(PROPS, max_examples=250)
@given(framed_streams())
def test_any_values_in_any_framing_split_anywhere_decode_to_themselves(case):
    values, data, cuts = case
    d = StreamDecoder()
    out, prev = [], 0
    for c in [*cuts, len(data)]:
        out.extend(d.feed(data[prev:c]))
        prev = c
    out.extend(d.close())
    assert out == no_lone_surrogates(json.loads(json.dumps(values)))


def no_lone_surrogates(v):
    """What the client makes of a lone surrogate escape (valid JSON, not valid text): U+FFFD."""
    if isinstance(v, str):
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in v)
    if isinstance(v, dict):
        return {no_lone_surrogates(k): no_lone_surrogates(x) for k, x in v.items()}
    if isinstance(v, list):
        return [no_lone_surrogates(x) for x in v]
    return v


TOKENS = st.sampled_from(['[', ']', '{', '}', '"', ',', ':', '\\', '\\u', 'd83d', 'true', 'fals', 'null', '-', '1e',
                          '0', '.5', ' ', '\n', '\r\n', 'data:', 'event: x', ': c', '[DONE]', 'NaN', '\xff', '\xe2\x82',
                          'é', '\x00', 'x' * 70])


@PROPS
@given(st.lists(st.one_of(st.binary(max_size=20), TOKENS.map(lambda t: t.encode("utf-8", "surrogatepass"))),
                max_size=30), st.integers(1, 7))
def test_any_bytes_give_values_or_a_protocol_error_never_anything_else(pieces, step):
    data = b"".join(pieces)
    d = StreamDecoder(max_value=200)
    try:
        for i in range(0, len(data), step):
            list(d.feed(data[i:i + step]))
        list(d.close())
    except StreamProtocolError:
        pass


@PROPS
@given(json_values)
def test_event_from_value_gives_an_event_or_a_validation_error(value):
    try:
        event_from_value(value)
    except pydantic.ValidationError:
        pass


MODELS = [M.Agent, M.AgentsPage, M.Conversation, M.ConversationsPage, M.TranscriptTurn, M.ConversationAnalysis,
          M.TestInvocation, M.TestInvocationsPage, M.AgentTest, M.AgentTestsPage, M.SimulationResponse,
          M.BranchesPage, M.MessageSearchPage]


@st.composite
def model_payloads(draw):
    model = draw(st.sampled_from(MODELS))
    keys = st.one_of(st.sampled_from(sorted(model.model_fields)), hostile_text)
    payload = draw(st.one_of(json_values, st.dictionaries(keys, json_values, max_size=8)))
    return model, payload


@settings(PROPS, max_examples=300)
@given(model_payloads())
def test_models_validate_or_raise_validation_error_and_round_trip(case):
    """As the client builds them: from what its JSON loader returns (lone surrogates replaced:
    pydantic cannot serialise them; found by this test)."""
    model, payload = case
    payload = loads(json.dumps(payload))
    try:
        obj = model.model_validate(payload)
    except pydantic.ValidationError:
        with pytest.raises(E.APIStatusError, match="unexpected response shape"):
            _validate(model, payload, "Getting it")
        return
    wire = obj.to_wire()
    json.dumps(wire)
    assert _validate(model, payload, "x") == obj


KEY = "sk_3a9f0c1d2e4b6a8c0d2f4e6a8b0c2d4e6f8a0b2c4d6e8f0a"


@st.composite
def error_bodies(draw):
    """A JSON error body with the key planted anywhere, in any form, among hostile text."""
    forms = [KEY, repr(KEY), json.dumps(KEY), KEY[:12], KEY[-12:], KEY[5:30], KEY.replace("_", "%5F")]
    leaf = st.one_of(hostile_text, st.sampled_from(forms), st.tuples(hostile_text, st.sampled_from(forms),
                                                                     hostile_text).map("".join))
    tree = st.recursive(st.one_of(leaf, json_scalars), lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.one_of(leaf, st.sampled_from(["detail", "loc", "msg",
                                                                                     "message", "status"])),
                                                    kids, max_size=4)), max_leaves=15)
    detail = draw(st.one_of(tree, st.lists(st.fixed_dictionaries(
        {"loc": st.lists(st.one_of(leaf, st.integers()), max_size=3), "msg": leaf}), max_size=5)))
    return {"detail": detail}


_client: list[ConvAIClient] = []


@settings(PROPS, max_examples=250)
@given(st.sampled_from([400, 401, 403, 404, 409, 422, 429, 500, 503, 301]), error_bodies())
def test_every_error_message_is_redacted_bounded_and_terminal_safe(status, body):
    if not _client:
        _client.append(ConvAIClient(KEY, base_url="http://127.0.0.1:9"))
    c = _client[0]
    resp = httpx.Response(status, headers={"retry-after": "1"})
    err = c._error_from_response(resp, json.dumps(body).encode(), "Doing it")
    texts = [str(err), repr(err), json.dumps(getattr(err, "errors", None)), json.dumps(err.body)]
    for text in texts:
        for i in range(len(KEY) - 7):
            assert KEY[i:i + 8] not in text
    assert_terminal_safe(str(err), newline_ok=True)
    assert len(str(err)) < 50 * 420


# ----------------------------------------------------------------------------- the workspace
TOML_TOKENS = st.sampled_from(['[', ']', '[[', ']]', '{', '}', '=', '.', '"', "'", '"""', "'''", '\\', '#', ',', '\n',
                               '\r\n', ' ', 'prompt', 'created', 'temperature', 'name', 'a', '1', '-0', '1e999', 'nan',
                               'inf', 'true', '2026-01-01T00:00:00Z', '2026-02-30', '\x00', '\ufeff', '99' * 2200])
toml_texts = st.lists(st.one_of(TOML_TOKENS, hostile_text), max_size=40).map("".join)


@st.composite
def toml_documents(draw):
    """Valid TOML in the workspace's shapes, with hostile values, or TOML-ish garbage, or bytes."""
    kind = draw(st.sampled_from(["valid", "garbage", "bytes"]))
    if kind == "garbage":
        return draw(toml_texts).encode("utf-8", "surrogatepass")
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    keys = st.sampled_from(["prompt", "first_message", "llm", "temperature", "created", "saved", "message", "name",
                            "persona", "turn_limit", "agent_id", "type", "chat_history", "sync", "x"])
    scalar = st.one_of(st.text(chars.filter(lambda c: unicodedata.category(c) != "Cs"), max_size=20),
                       st.integers(-10**20, 10**20), st.floats(), st.booleans(),
                       st.datetimes(timezones=st.just(__import__("datetime").timezone.utc)))
    value = st.recursive(scalar, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                        st.dictionaries(keys, kids, max_size=3)), max_leaves=8)
    import tomli_w
    doc = draw(st.dictionaries(keys, value, max_size=8))
    try:
        return tomli_w.dumps(doc).encode("utf-8")
    except (TypeError, ValueError):
        return b'prompt = "x"\n'


@FEW
@given(toml_documents(), st.sampled_from(["version", "draft", "scenario", "test", "config", "agent"]))
def test_any_file_in_the_workspace_loads_or_is_a_workspace_error(tmp_path_factory, data, where):
    root = tmp_path_factory.mktemp("ws")
    ws = Workspace(root)
    base = ws.agent_dir("a")
    path = {"version": base / "prompts" / "v0001.toml", "draft": base / "draft.toml",
            "scenario": base / "scenarios" / "s.toml", "test": base / "tests" / "t.toml",
            "config": root / "convai.toml", "agent": base / "agent.toml"}[where]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    try:
        ws.list("a")
        ws.load_draft("a")
        ws.scenarios("a")
        ws.tests("a")
        ws.agent_ids()
        ws.config()
        ws.agent_file("a")
    except F.WorkspaceError as exc:
        assert str(exc).startswith(str(root))
    for p in ws.problems:
        assert p.startswith(str(root))


@FEW
@given(hostile_text, hostile_text, hostile_text, st.one_of(st.none(), st.floats(0, 2)), hostile_text)
def test_any_draft_round_trips_normalised(tmp_path_factory, prompt, first, llm, temp, message):
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    d = PromptDraft(prompt, first, llm, temp)
    assert "\r" not in d.prompt + d.first_message + d.llm
    v = ws.save("a", d, message=message)
    back = Workspace(ws.root).get("a", v.number)
    assert back is not None and back.draft == d == v.draft
    path = ws.agent_dir("a") / "prompts" / "v0001.toml"
    raw = path.read_bytes()
    assert F.dump_toml(F.parse_toml(path, raw)) == raw


@FEW
@given(toml_texts)
def test_parse_toml_raises_only_file_format_errors(text):
    try:
        F.parse_toml(Path("x.toml"), text.encode("utf-8", "surrogatepass"))
    except F.FileFormatError as exc:
        assume(True)
        assert exc.line >= 1 and exc.col >= 1
