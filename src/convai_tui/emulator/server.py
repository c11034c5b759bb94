"""Run the emulator with uvicorn: in the foreground (``serve-emulator``) or in a
background thread on a free loopback port (``--demo`` and the tests)."""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import time
from typing import Any

import uvicorn

from .app import create_app, warm as warm_routes
from .state import EmulatorConfig, EmulatorState


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class EmulatorServer:
    """An emulator on a real loopback port, served by uvicorn in a daemon thread."""

    def __init__(self, config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 state: EmulatorState | None = None, warm: bool = True) -> None:
        """``warm``: simulate each agent's first pages and answer one request per common route before
        serving, so the first requests are as fast as the next (as the old eager seeding made them;
        in-process, the TUI asks for its first page while it is busy building panes)."""
        self.config = config or EmulatorConfig()
        self.host = host
        self.port = port or free_port(host)
        self._state = state
        self.warm = warm
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_key(self) -> str:
        return self.config.api_key

    @property
    def state(self) -> EmulatorState:
        assert self._state is not None
        return self._state

    def _run(self) -> None:
        try:
            if self._state is None:
                self._state = EmulatorState(self.config)
                if self.warm:
                    self._state.warm()
            app = create_app(self._state)
            if self.warm:
                warm_routes(app)
            cfg = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", access_log=False,
                                 lifespan="off", timeout_graceful_shutdown=1, timeout_keep_alive=30)
            self.server = uvicorn.Server(cfg)
            self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
            self.server.run()
        except BaseException as exc:  # surfaced by wait_ready()
            self.error = exc

    def start(self) -> "EmulatorServer":
        self.thread = threading.Thread(target=self._run, name="convai-emulator", daemon=True)
        self.thread.start()
        return self

    def wait_ready(self, timeout: float = 30.0) -> "EmulatorServer":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.error is not None:
                raise RuntimeError(f"emulator failed to start: {self.error}")
            if self.server is not None and self.server.started:
                return self
            time.sleep(0.01)
        raise TimeoutError("emulator did not start in time")

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=5)

    def __enter__(self) -> "EmulatorServer":
        return self.start().wait_ready()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on host:port (OSError when it cannot be had, e.g. the port is busy)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve_forever(config: EmulatorConfig, host: str, port: int, announce: Any = print,
                  faults: list[Any] | None = None, error: Any = None) -> int:
    """Serve until Ctrl-C. 0 when stopped, 2 when the address cannot be bound (said in one line)."""
    error = error or announce
    try:
        sock = bind(host, port)
    except OSError as exc:
        reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        error(f"convai-tui: error: cannot serve on {host}:{port}: {reason}")
        return 2
    from .app import create_app, warm

    state = EmulatorState(config)
    state.warm()
    for f in faults or []:
        state.faults.add(f)
    app = create_app(state)
    warm(app)
    port = sock.getsockname()[1]
    announce(f"convai-tui emulator on http://{host}:{port}")
    announce(f"  API key: {'(any: --open)' if config.open else config.api_key}")
    announce(f"  {len(state.agents)} agents, {len(state.convs)} conversations, {len(state.tests)} tests")
    modes = [m for m, on in (("strict", config.strict), ("drift", config.drift)) if on]
    if modes:
        announce(f"  mode: {', '.join(modes)}")
    if config.latency_ms or config.latency_jitter_ms or config.max_concurrent:
        announce(f"  latency {config.latency_ms} ms + 0-{config.latency_jitter_ms} ms jitter"
                 + (f", at most {config.max_concurrent} requests in flight" if config.max_concurrent else ""))
    announce(f"  try: ELEVENLABS_BASE_URL=http://{host}:{port} ELEVENLABS_API_KEY={config.api_key} convai-tui")
    if faults:
        announce(f"  {len(faults)} fault(s) armed")
    announce("  Ctrl-C to stop")
    cfg = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
                         timeout_graceful_shutdown=2, timeout_keep_alive=30)
    server = uvicorn.Server(cfg)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled once it has shut down
        pass
    finally:
        sock.close()
    announce("emulator stopped")
    return 0
