"""convai-tui: a terminal workbench for ElevenLabs conversational agents."""

__version__ = "0.1.0"
