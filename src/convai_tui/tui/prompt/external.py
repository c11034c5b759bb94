"""Edit the prompt in the user's own editor ($VISUAL, $EDITOR), in the same terminal, as ``git commit``
does: the app steps aside (``App.suspend``), the editor runs on a private temporary file, and what it
wrote comes back."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import SuspendNotSupported

if TYPE_CHECKING:
    from textual.app import App


@dataclass
class EditResult:
    text: str | None = None  # what the editor saved (None: nothing to apply)
    error: str = ""  # why nothing was applied (the prompt in the app is unchanged)
    editor: str = ""


def editor_command(env: dict[str, str] | None = None) -> tuple[list[str], str]:
    """The editor to run, as git picks it: $VISUAL, then $EDITOR, then vi if there is one.
    Returns (argv, where it came from); argv is empty when there is none."""
    env = dict(os.environ) if env is None else env
    for var in ("VISUAL", "EDITOR"):
        value = env.get(var, "").strip()
        if value:
            return shlex.split(value), f"${var}"
    vi = shutil.which("vi")
    return ([vi], "vi") if vi else ([], "")


def edit_externally(app: App, text: str, *, suffix: str = ".md") -> EditResult:
    """Run the editor on ``text`` (in a 0600 temporary file created exclusively, removed afterwards) and
    return what it saved. Never raises for the editor's sake: every failure is an ``error`` and the
    caller's text is untouched. A trailing newline the editor added (vi, nano do) is taken off again."""
    try:
        argv, source = editor_command()
    except ValueError as exc:
        return EditResult(error=f"cannot read $VISUAL/$EDITOR: {exc}")
    if not argv:
        return EditResult(error="no editor: set $VISUAL or $EDITOR (e.g. export EDITOR=nano)")
    name = os.path.basename(argv[0])
    if shutil.which(argv[0]) is None:
        return EditResult(error=f"the editor {argv[0]!r} ({source}) was not found; nothing changed", editor=name)
    fd, tmp = tempfile.mkstemp(prefix="convai-prompt-", suffix=suffix)  # O_EXCL, mode 0600
    path = Path(tmp)
    keep = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        failed = ""
        try:
            with app.suspend():
                # (nothing may escape this block: the app resumes only when it ends normally)
                try:
                    rc = subprocess.call([*argv, str(path)])
                except OSError as exc:
                    rc, failed = -1, f"could not run the editor {argv[0]!r} ({source}): {exc}"
        except SuspendNotSupported:
            return EditResult(error="this terminal cannot hand over to an editor; nothing changed", editor=name)
        if failed:
            return EditResult(error=failed, editor=name)
        try:
            new = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            keep = path.exists()
            return EditResult(error=f"could not read what the editor saved ({exc}); it is kept in {path}",
                              editor=name)
        if rc != 0:
            keep = new != text
            where = f"; what it saved is kept in {path}" if keep else ""
            return EditResult(error=f"{name} exited with status {rc}: the prompt was not changed{where}",
                              editor=name)
        if new.endswith("\n") and not text.endswith("\n"):
            new = new[:-2] if new.endswith("\r\n") else new[:-1]
        return EditResult(text=new.replace("\r\n", "\n"), editor=name)
    finally:
        if not keep:
            path.unlink(missing_ok=True)
