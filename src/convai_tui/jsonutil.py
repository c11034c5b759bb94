"""JSON text that is exact and also safe to print: ``json.dumps`` escapes C0 controls, this also
escapes DEL, C1 controls, U+2028/U+2029 and lone surrogates as ``\\uXXXX`` (the same data, and
text any terminal and any UTF-8 encoder accepts)."""

from __future__ import annotations

import json
import re
from typing import Any

_UNSAFE = re.compile("[\u007f-\u009f\u2028\u2029\ud800-\udfff]")


def _esc(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group(0)):04x}"


def dumps(obj: Any, *, indent: int | None = None) -> str:
    if indent is None:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
    else:
        text = json.dumps(obj, ensure_ascii=False, indent=indent, default=str)
    return _UNSAFE.sub(_esc, text)
