"""Shown instead of the app when no API key is configured."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static


class NoKeyScreen(Screen):
    """Shown instead of the app when no API key is configured."""

    BINDINGS = [Binding("q", "app.quit", "Quit", tooltip="Quit (then set a key, or try --demo)"),
                Binding("escape", "app.quit", "Quit", show=False, tooltip="Quit (then set a key, or try --demo)")]

    def compose(self) -> ComposeResult:
        t = Text()
        t.append("No API key configured\n\n", style="bold red")
        t.append("convai-tui talks to the ElevenLabs ConvAI API and needs a key. Either:\n\n")
        t.append("  export ELEVENLABS_API_KEY=…      ", style="bold")
        t.append("then run convai-tui again\n")
        t.append("  convai-tui --api-key-file PATH   ", style="bold")
        t.append("read it from a file\n")
        t.append("  convai-tui --demo                ", style="bold")
        t.append("use the bundled offline emulator with demo data\n\n")
        t.append("Optional: ELEVENLABS_BASE_URL or --base-url for another region or server.\n", style="dim")
        t.append("The key is never written to disk, logs or screenshots.", style="dim")
        with Vertical(classes="dialog"):
            yield Static(t)
        yield Footer(compact=True)