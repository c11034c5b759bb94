"""What the terminal sends and what it accepts: alt+digit over tmux/screen/SSH, and OSC 52 copy.

**alt+digit.** tmux (``send-keys M-3``), GNU screen and xterm with ``metaSendsEscape`` send alt+3 as
ESC 3. Textual's parser maps ESC 1 … ESC 0, ESC - and ESC = to the characters macOS types for
Option+digit (``¡ ™ £ ¢`` …, a WezTerm-on-macOS accommodation), so alt+1..alt+4 arrived as
``pound_sign`` & co and typed ``£`` into the prompt. :func:`meta_digits_as_alt` removes those entries:
ESC 3 is then parsed like every other ESC+key, as alt+3. (A real ``£`` typed on a UK keyboard is
one character, not ESC 3, and still types ``£``.)

**Copy.** :func:`copy_text` writes an OSC 52 clipboard sequence, the way terminal apps copy over
SSH. tmux forwards it only with ``set-clipboard on`` (its default, ``external``, drops what apps
send); GNU screen needs it wrapped in a DCS passthrough; macOS Terminal ignores OSC 52. The
notification says what was copied, and what to change where it cannot have arrived.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App

# ESC + key sequences Textual reads as macOS Option characters instead of alt+key.
META_SEQUENCES = ("\x1b1", "\x1b2", "\x1b3", "\x1b4", "\x1b5", "\x1b6", "\x1b7", "\x1b8", "\x1b9", "\x1b0",
                  "\x1b-", "\x1b=", "\x1b§")


def meta_digits_as_alt() -> list[str]:
    """Make ESC+digit parse as alt+digit (see the module's doc). Idempotent; returns what it removed."""
    from textual import _ansi_sequences

    table = _ansi_sequences.ANSI_SEQUENCES_KEYS
    removed = []
    for seq in META_SEQUENCES:
        value = table.get(seq)
        if isinstance(value, str) and len(value) == 1:
            del table[seq]  # type: ignore[attr-defined]
            removed.append(seq)
    return removed


# ---------------------------------------------------------------------- clipboard
def osc52(text: str) -> str:
    """The OSC 52 sequence that puts ``text`` on the terminal's clipboard."""
    return f"\x1b]52;c;{base64.b64encode(text.encode('utf-8')).decode('ascii')}\a"


def screen_passthrough(seq: str, chunk: int = 512) -> str:
    """``seq`` wrapped for GNU screen, which passes a DCS string's content on to the terminal (in
    pieces: screen limits the length of one string)."""
    return "".join(f"\x1bP{seq[i:i + chunk]}\x1b\\" for i in range(0, len(seq), chunk))


def _tmux_set_clipboard() -> str | None:
    """tmux's ``set-clipboard`` option (on, external, off), or None when it cannot be read."""
    tmux = shutil.which("tmux")
    if not tmux:
        return None
    try:
        r = subprocess.run([tmux, "show-options", "-gv", "set-clipboard"], capture_output=True, text=True,
                           timeout=1.0)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() or None if r.returncode == 0 else None


def clipboard_hint(env: dict[str, str] | None = None, tmux_option: str | None = None) -> str:
    """Why a copy may not reach the clipboard here, and the fix; "" when nothing is known to stop it."""
    env = dict(os.environ) if env is None else env
    if env.get("TMUX"):
        opt = tmux_option if tmux_option is not None else _tmux_set_clipboard()
        if opt != "on":
            return ("tmux passes a copy on only with `set -g set-clipboard on` in ~/.tmux.conf "
                    f"(it is {opt or 'unknown'} here); the terminal outside must accept OSC 52 too.")
        return ""
    if env.get("STY"):
        return "GNU screen passes the copy on; the terminal outside must accept OSC 52."
    if env.get("TERM_PROGRAM") == "Apple_Terminal":
        return "macOS Terminal does not accept OSC 52 clipboard writes: use iTerm2, WezTerm, kitty or Ghostty."
    return ""


class Clipboard:
    """Copies through the terminal (OSC 52) and says what happened."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._hint: str | None = None  # computed once (tmux is asked once)

    def hint(self) -> str:
        if self._hint is None:
            self._hint = clipboard_hint()
        return self._hint

    def copy(self, text: str, what: str) -> None:
        app = self.app
        app.copy_to_clipboard(text)  # OSC 52, and the app's own clipboard (paste inside the app)
        driver = app._driver
        if os.environ.get("STY") and driver is not None:
            driver.write(screen_passthrough(osc52(text)))
        lines = text.count("\n") + 1
        size = f"{len(text):,} characters" + (f", {lines:,} lines" if lines > 1 else "")
        hint = self.hint()
        if hint:
            app.notify(f"Sent {what} ({size}) to the clipboard. {hint}", title="Copy", severity="warning",
                       timeout=10, markup=False)
        else:
            app.notify(f"Copied {what} ({size}).", title="Copy", markup=False)
