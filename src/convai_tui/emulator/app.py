"""The emulator's ASGI app: the ConvAI API's paths, JSON, stream framing and error shapes.

One router per area of the API (:mod:`.routes`), sharing one :class:`~.state.EmulatorState`
through a FastAPI dependency; :class:`~.middleware.Gate` in front (faults, auth, concurrency
limit, latency, strict mode); :mod:`.errors` makes every error a JSON body of the API's shape.
"""

from __future__ import annotations

from fastapi import FastAPI

from . import errors
from .middleware import Gate
from .routes import ROUTERS
from .state import EmulatorState


def create_app(state: EmulatorState | None = None) -> FastAPI:
    st = state or EmulatorState()
    app = FastAPI(title="convai-tui emulator", version="1", docs_url=None, redoc_url=None, openapi_url=None,
                  redirect_slashes=False)  # a trailing slash is a 404 (JSON), not a body-less 307
    app.state.emulator = st
    app.state.counters = {"requests": 0, "in_flight": 0, "max_in_flight": 0, "rejected": 0}
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(Gate, state=st, counters=app.state.counters)
    if st.config.strict:
        _ = st.spec  # parse the document now, not on the first request
    return app
