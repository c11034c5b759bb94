"""The session: the one place where configuration is resolved, and the owner of the API client,
the workspace and (with ``--demo``) the in-process emulator.

Precedence, for every setting: **flag > environment > workspace file > default**.

=============  ==========================  ==========================  =====================  ======================
setting        flag                        environment                 workspace (convai.toml)  default
=============  ==========================  ==========================  =====================  ======================
API key        ``--api-key-file PATH``     ``ELEVENLABS_API_KEY``      never (refused)        none: the no-key screen
base URL       ``--base-url URL``          ``ELEVENLABS_BASE_URL``     ``base_url`` (*)       https://api.elevenlabs.io
workspace      ``--workspace DIR``         ``CONVAI_TUI_WORKSPACE``    -                      the current directory
                                                                                              (``--demo``: a per-user
                                                                                              demo directory)
agent          ``--agent ID``              ``CONVAI_TUI_AGENT``        ``default_agent``      the only agent pulled;
                                                                                              (the TUI) the agent last
                                                                                              opened on this server,
                                                                                              else the first agent
=============  ==========================  ==========================  =====================  ======================

For the agent, in full: ``--agent`` > ``CONVAI_TUI_AGENT`` > ``default_agent`` > the only agent pulled into
the workspace > (the TUI only) the agent last opened on this server, remembered per user
(:mod:`.userstate`) > (the TUI only) the account's first agent. Headless commands never use the
remembered agent: what a script does must not depend on what someone last browsed.

(*) A ``base_url`` that comes from a workspace file (a cloned repository, a pull request) and does not
point at an ElevenLabs host is refused, because the key would be sent there, unless the user confirms
it with ``--trust-workspace-url``. ``--demo`` talks to the in-process emulator whatever else is set.

Imports nothing heavy: the TUI resolves its settings before its first frame.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import urlsplit

from .errors import ConfigError, UsageError

if TYPE_CHECKING:
    from ..api.client import ConvAIClient
    from ..emulator.server import EmulatorServer
    from ..workspace.store import Workspace
    from .agents import AgentsService
    from .conversations import ConversationsService
    from .matrix import MatrixService
    from .prompts import PromptsService
    from .runs import RunsService
    from .simulations import SimulationsService
    from .tests import TestsService

ENV_KEY = "ELEVENLABS_API_KEY"
ENV_BASE_URL = "ELEVENLABS_BASE_URL"
ENV_WORKSPACE = "CONVAI_TUI_WORKSPACE"
ENV_AGENT = "CONVAI_TUI_AGENT"
DEFAULT_BASE_URL = "https://api.elevenlabs.io"
DAY = 86400


@dataclass(frozen=True)
class ConfigFlags:
    """What the command line said (None: not given)."""

    api_key_file: str | None = None
    base_url: str | None = None
    workspace: str | None = None
    agent: str | None = None
    demo: bool = False
    trust_workspace_url: bool = False
    emulator_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Each value says where it came from (``*_source``)."""

    api_key: str | None = field(default=None, repr=False)
    key_source: str = "none"
    base_url: str = DEFAULT_BASE_URL
    base_url_source: str = "default"
    workspace_dir: Path = field(default_factory=Path.cwd)
    workspace_source: str = "current directory"
    agent: str | None = None
    agent_source: str = "none"
    demo: bool = False
    emulator_options: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    last_agent: str | None = None  # the agent last opened on this server (the TUI's fallback)

    @classmethod
    def of(cls, *, api_key: str | None = None, base_url: str | None = None, workspace: str | Path | None = None,
           agent: str | None = None, demo: bool = False,
           emulator_options: Mapping[str, Any] | None = None, last_agent: str | None = None) -> "Settings":
        """Settings given directly (tests, embedding): every value counts as a flag."""
        ws = Path(workspace).expanduser().resolve() if workspace is not None else (
            demo_workspace_dir() if demo else Path.cwd())
        return cls(api_key=_check_key(api_key.strip(), "the given key") if api_key else None,
                   key_source="given" if api_key else "none",
                   base_url=_check_url(base_url, "the given base URL") if base_url else DEFAULT_BASE_URL,
                   base_url_source="given" if base_url else "default", workspace_dir=ws,
                   workspace_source="given" if workspace is not None else (
                       "demo directory" if demo else "current directory"),
                   agent=agent, agent_source="given" if agent else "none", demo=demo,
                   emulator_options=dict(emulator_options or {}), last_agent=last_agent)

    @property
    def masked_key(self) -> str:
        k = self.api_key or ""
        if not k:
            return "(none)"
        return f"{k[:3]}…{k[-2:]}" if len(k) > 10 else "****"

    @property
    def has_key(self) -> bool:
        return bool(self.api_key) or self.demo

    @property
    def server_key(self) -> str:
        """The server, as the per-user state and display cache know it (never the key)."""
        from .userstate import server_key

        return server_key(self.base_url, demo=self.demo, demo_options=self.emulator_options)

    def __repr__(self) -> str:  # never the key
        return (f"Settings(base_url={self.base_url!r} ({self.base_url_source}), key={self.masked_key} "
                f"({self.key_source}), workspace={str(self.workspace_dir)!r}, agent={self.agent!r}, "
                f"demo={self.demo})")


def demo_workspace_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where ``--demo`` keeps its workspace: one per-user data directory (XDG), never the cwd."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base).expanduser() / "convai-tui" / "demo"


def is_elevenlabs_host(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower().rstrip(".")
    return parts.scheme == "https" and (host == "elevenlabs.io" or host.endswith(".elevenlabs.io"))


def _check_url(url: str, where: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = None, False
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok \
            or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise ConfigError(f"{where} is not a usable URL (expected http:// or https://host[:port]): {url[:100]!r}")
    return url.rstrip("/")


def _check_key(key: str, where: str) -> str:
    for i, ch in enumerate(key):
        if not (33 <= ord(ch) < 127):
            raise ConfigError(f"the API key from {where} has a character that cannot be sent in an HTTP header "
                              f"(at position {i + 1}: {'a space' if ch == ' ' else 'U+%04X' % ord(ch)}); "
                              "check for a stray quote, space or copy-paste artefact")
    return key


def _read_key_file(path: str) -> str:
    try:
        raw = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the API key file {path}: {exc.strerror or exc}") from None
    try:
        key = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"the API key file {path} is not text") from None
    if not key:
        raise ConfigError(f"the API key file {path} is empty")
    return _check_key(key, f"the file {path}")


def resolve_settings(flags: ConfigFlags, env: Mapping[str, str] | None = None,
                     cwd: Path | None = None) -> Settings:
    """Flags, environment and the workspace's ``convai.toml`` -> :class:`Settings` (see module doc).

    Raises :class:`ConfigError` for anything that cannot be used (an unreadable key file, a malformed
    URL, a workspace base URL that is not ElevenLabs' and was not confirmed)."""
    env = os.environ if env is None else env
    warnings: list[str] = []

    # workspace directory
    if flags.workspace:
        ws_dir, ws_src = Path(flags.workspace), "--workspace"
    elif env.get(ENV_WORKSPACE):
        ws_dir, ws_src = Path(env[ENV_WORKSPACE]), ENV_WORKSPACE
    elif flags.demo:
        ws_dir, ws_src = demo_workspace_dir(env), "demo directory"
    else:
        ws_dir, ws_src = (cwd or Path.cwd()), "current directory"
    ws_dir = ws_dir.expanduser().resolve()

    # the workspace file (read once, without pydantic)
    from ..workspace.config import WorkspaceConfig, read_config
    from ..workspace.errors import WorkspaceError

    try:
        wcfg, _ = read_config(ws_dir)
    except WorkspaceError as exc:
        warnings.append(f"ignored {exc}")
        wcfg = WorkspaceConfig()

    # key
    if flags.demo:
        key, key_src = None, "demo emulator"
    elif flags.api_key_file:
        key, key_src = _read_key_file(flags.api_key_file), "--api-key-file"
    elif (env.get(ENV_KEY) or "").strip():
        key, key_src = _check_key(env[ENV_KEY].strip(), ENV_KEY), ENV_KEY
    else:
        key, key_src = None, "none"

    # base URL
    if flags.demo:
        if flags.base_url:
            warnings.append("--base-url is ignored with --demo (the in-process emulator is used)")
        url, url_src = "", "demo emulator"
    elif flags.base_url:
        url, url_src = _check_url(flags.base_url, "--base-url"), "--base-url"
    elif (env.get(ENV_BASE_URL) or "").strip():
        url, url_src = _check_url(env[ENV_BASE_URL], ENV_BASE_URL), ENV_BASE_URL
    elif wcfg.base_url:
        where = f"{ws_dir / 'convai.toml'}"
        url = _check_url(wcfg.base_url, f"base_url in {where}")
        if not is_elevenlabs_host(url) and not flags.trust_workspace_url:
            raise ConfigError(
                f"{where} sets base_url = {url!r}, which is not an ElevenLabs host: your API key would be sent "
                "there. A workspace file (a cloned repository, a pull request) cannot choose the server on its "
                "own: pass --base-url yourself, set ELEVENLABS_BASE_URL, or confirm this one with "
                "--trust-workspace-url.")
        url_src = "convai.toml" + (", trusted by --trust-workspace-url" if not is_elevenlabs_host(url) else "")
    else:
        url, url_src = DEFAULT_BASE_URL, "default"

    # agent
    if flags.agent:
        agent, agent_src = flags.agent, "--agent"
    elif (env.get(ENV_AGENT) or "").strip():
        agent, agent_src = env[ENV_AGENT].strip(), ENV_AGENT
    elif wcfg.default_agent:
        agent, agent_src = wcfg.default_agent, "default_agent in convai.toml"
    else:
        agent, agent_src = None, "none"

    settings = Settings(api_key=key, key_source=key_src, base_url=url or DEFAULT_BASE_URL, base_url_source=url_src,
                        workspace_dir=ws_dir, workspace_source=ws_src, agent=agent, agent_source=agent_src,
                        demo=flags.demo, emulator_options=dict(flags.emulator_options), warnings=tuple(warnings))
    # the agent last opened on this server: below everything above (see the module doc)
    from .userstate import read_last_agent

    last = read_last_agent(settings.server_key, env)
    return replace(settings, last_agent=last) if last else settings


class Session:
    """Everything a front end needs, by area: ``agents``, ``prompts``, ``conversations``, ``tests``,
    ``simulations``. Starts the client (and, with ``demo``, the emulator) on first use."""

    def __init__(self, settings: Settings, *, client_options: Mapping[str, Any] | None = None) -> None:
        self.settings = settings
        self.client_options = dict(client_options or {})
        self._workspace: Workspace | None = None
        self._client: ConvAIClient | None = None
        self._emulator: EmulatorServer | None = None
        self._start_lock: asyncio.Lock | None = None
        self.base_url: str = "" if settings.demo else settings.base_url
        self.demo_now: float | None = None  # the demo data's clock (relative date filters)
        # Called once the client exists (the CLI prints the server it talks to on stderr).
        self.on_start: Callable[[Session], None] | None = None

    # The services, by area, each built (and its module imported) on first use: the TUI's first frame
    # needs none of them but the conversations', and importing all seven cost ~30 ms of its start-up.
    @cached_property
    def agents(self) -> AgentsService:
        from .agents import AgentsService

        return AgentsService(self)

    @cached_property
    def prompts(self) -> PromptsService:
        from .prompts import PromptsService

        return PromptsService(self)

    @cached_property
    def conversations(self) -> ConversationsService:
        from .conversations import ConversationsService

        return ConversationsService(self)

    @cached_property
    def tests(self) -> TestsService:
        from .tests import TestsService

        return TestsService(self)

    @cached_property
    def simulations(self) -> SimulationsService:
        from .simulations import SimulationsService

        return SimulationsService(self)

    @cached_property
    def runs(self) -> RunsService:
        from .runs import RunsService

        return RunsService(self)

    @cached_property
    def matrix(self) -> MatrixService:
        from .matrix import MatrixService

        return MatrixService(self)

    # ------------------------------------------------------------------ what we talk to
    @property
    def demo(self) -> bool:
        return self.settings.demo

    @property
    def server_label(self) -> str:
        """The server in use and why, for the TUI header and the CLI's stderr."""
        if self.demo:  # in-process, on a loopback port that changes every launch (not worth showing)
            return "offline demo emulator (in-process)"
        s = self.settings
        return f"{s.base_url} ({s.base_url_source})"

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            from ..workspace.store import Workspace

            self._workspace = Workspace(self.settings.workspace_dir)
        return self._workspace

    @property
    def emulator(self) -> EmulatorServer | None:
        """The in-process emulator of a demo session (None otherwise)."""
        return self._emulator

    def agent_id(self, explicit: str | None = None) -> str:
        """Which agent: the one given, else the configured one (flag > environment > ``default_agent``),
        else the only agent in the workspace; no answer is a :class:`UsageError`."""
        found = self.agent_id_or_none(explicit)
        if found is None:
            raise UsageError("which agent? pass --agent, or pull one into the workspace (it becomes the default)")
        return found

    def agent_id_or_none(self, explicit: str | None = None, *, remembered: bool = False) -> str | None:
        """As :meth:`agent_id`, for the places where "every agent" (None) is a fine answer. ``remembered``
        (the TUI): after the workspace, the agent last opened on this server."""
        if explicit:
            return explicit
        if self.settings.agent:
            return self.settings.agent
        from ..workspace.errors import WorkspaceError

        try:
            ids = self.workspace.agent_ids()
        except WorkspaceError:
            ids = []
        if len(ids) == 1:
            return ids[0]
        return self.settings.last_agent if remembered else None

    def startup_agent(self, explicit: str | None = None) -> str | None:
        """What :meth:`agent_id_or_none` (``remembered=True``) will most likely say, found without the
        workspace's models (too slow to import before the first frame): the ``agent_id`` of each pulled
        ``agent.toml`` is read with ``tomllib`` alone. A prediction for starting early (the TUI's first
        page request, the cached rows of its first frame); :meth:`agent_id_or_none` decides."""
        if explicit:
            return explicit
        if self.settings.agent:
            return self.settings.agent
        ids = self._pulled_agent_ids()
        return ids[0] if len(ids) == 1 else self.settings.last_agent

    def _pulled_agent_ids(self) -> list[str]:
        base = self.settings.workspace_dir / "agents"
        try:
            dirs = sorted(base.iterdir()) if base.is_dir() else []
        except OSError:
            return []
        if not dirs:
            return []
        import tomllib

        from ..workspace import files as F

        out = []
        for d in dirs:
            try:
                data = tomllib.loads(F.read_bytes(d / "agent.toml", 1 << 20).decode("utf-8"))
            except (F.WorkspaceError, ValueError, OSError):  # (tomllib's and UTF-8's errors are ValueErrors)
                continue
            if isinstance(data.get("agent_id"), str) and data["agent_id"]:
                out.append(data["agent_id"])
        return out

    def remember_agent(self, agent_id: str) -> None:
        """Record ``agent_id`` as the last agent opened on this server (a small per-user file; never fails)."""
        from .userstate import remember_agent

        remember_agent(self.settings.server_key, agent_id)

    def forget_agent(self, agent_id: str) -> None:
        """``agent_id`` does not exist on this server (any more): do not open it next time."""
        from .userstate import forget_agent

        forget_agent(self.settings.server_key, agent_id)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Build the client (and start the demo emulator). Safe to call repeatedly and concurrently."""
        if self._client is not None:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._client is not None:
                return
            from ..api.client import ConvAIClient

            if self.demo:
                from ..emulator.seed import SEED_NOW
                from ..emulator.server import EmulatorServer
                from ..emulator.state import EmulatorConfig

                server = EmulatorServer(EmulatorConfig(**self.settings.emulator_options))
                server.start()
                await asyncio.to_thread(server.wait_ready, 60.0)
                self._emulator = server
                self.base_url = server.base_url
                self.demo_now = SEED_NOW + DAY
                self._client = ConvAIClient(server.api_key, base_url=server.base_url, **self.client_options)
            else:
                self.start_now()
                return
            if self.on_start is not None:
                self.on_start(self)

    def start_now(self) -> bool:
        """Build the client at once, without awaiting anything, when no emulator has to be started
        first (False with ``--demo``: use :meth:`start`). The TUI sends its first request this way."""
        if self._client is not None:
            return True
        if self.demo:
            return False
        if not self.settings.api_key:
            raise ConfigError("No API key: set ELEVENLABS_API_KEY (or pass --api-key-file), or run with --demo.")
        from ..api.client import ConvAIClient

        self._client = ConvAIClient(self.settings.api_key, base_url=self.settings.base_url, **self.client_options)
        if self.on_start is not None:
            self.on_start(self)
        return True

    async def client(self) -> ConvAIClient:
        await self.start()
        assert self._client is not None
        return self._client

    async def close(self) -> None:
        if "conversations" in self.__dict__:
            self.conversations.discard_prefetched()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._emulator is not None:
            await asyncio.to_thread(self._emulator.stop)
            self._emulator = None

    async def __aenter__(self) -> "Session":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def redact(self, text: str) -> str:
        """The text without the key (for anything that may echo what the server said)."""
        key = self.settings.api_key
        return text.replace(key, "***") if key and text else text
