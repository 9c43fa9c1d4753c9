"""Run a simulator in a background thread, for tests, benchmarks and the ``demo`` command.

:class:`SimulatorServer` binds 127.0.0.1 (port 0 picks a free port), serves
the :class:`~scim_tui.simulator.app.SimulatorApp` with uvicorn on an event
loop of its own thread, and returns from :meth:`SimulatorServer.start` once
the socket accepts connections. The in-process helpers (``users()``,
``stats()``, ``gate()`` and the others) run their work on the server's loop
and wait for the result, so they are safe to call from any thread, including
from a test's own event loop.

Usage::

    with SimulatorServer(SimulatorConfig(rate_limit_per_minute=10)) as sim:
        httpx.post(sim.token_url, auth=(sim.client_id, sim.client_secret), data={"grant_type": "client_credentials"})

    async with SimulatorServer(SimulatorConfig(profile="generic")) as sim:
        ...
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn

from scim_tui.simulator.app import GENERIC_PREFIXES, GENESYS_PREFIXES, TOKEN_PATH, SimulatorApp
from scim_tui.simulator.config import SimulatorConfig
from scim_tui.simulator.stats import SimulatorStats

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"

T = TypeVar("T")


def bind_socket(port: int) -> socket.socket:
    """Bind and listen on a TCP socket on 127.0.0.1; port 0 lets the system pick a free port."""
    # IPPROTO_TCP must be explicit: asyncio sets TCP_NODELAY on accepted
    # connections only when the listening socket names the protocol, and
    # without it every response written in two parts waits for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        # Listening now lets clients connect (and wait in the backlog) before uvicorn starts serving.
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def uvicorn_config(app: SimulatorApp, http: str = "auto") -> uvicorn.Config:
    """Build the uvicorn settings the simulator runs with.

    ``log_config=None`` keeps uvicorn from reconfiguring the host program's
    logging, and the access log is off because it costs more per request
    than the simulator itself. ``http="auto"`` uses httptools when it is
    installed and h11 otherwise.
    """
    return uvicorn.Config(
        app,
        http=http,
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=2,
        timeout_keep_alive=30,
    )


class SimulatorServer:
    """A simulator served by uvicorn in a background thread.

    :param config: the simulator's settings; the default is the genesys profile.
    :param port: TCP port on 127.0.0.1; 0 picks a free one.
    :param http: uvicorn's HTTP implementation: ``"auto"``, ``"h11"`` or ``"httptools"``.
    :raises ValueError: when a preload file or a setting is invalid.
    """

    def __init__(self, config: SimulatorConfig | None = None, *, port: int = 0, http: str = "auto") -> None:
        self.app = SimulatorApp(config or SimulatorConfig())
        self._requested_port = port
        self._http = http
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    # -- Life cycle ------------------------------------------------------

    def start(self, timeout: float = 10.0) -> SimulatorServer:
        """Start serving and return once the socket accepts connections.

        Raises OSError when the port is taken and RuntimeError when uvicorn
        does not start within ``timeout`` seconds.
        """
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")

        sock = bind_socket(self._requested_port)
        self._port = sock.getsockname()[1]
        self.app.renew_events()
        self._server = uvicorn.Server(uvicorn_config(self.app, self._http))
        self._failure = None
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(sock, ready), name=f"scim-simulator-{self._port}", daemon=True
        )
        self._thread.start()

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server.started:
                logger.info("simulator (%s profile) listening on %s", self.app.config.profile, self.base_url)
                return self
            if not self._thread.is_alive():
                break
            ready.wait(0.01)

        self.stop()
        raise RuntimeError(f"the simulator did not start within {timeout} seconds") from self._failure

    def _run(self, sock: socket.socket, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            assert self._server is not None
            loop.run_until_complete(self._server.serve(sockets=[sock]))
        except BaseException as error:  # a failed start must reach start(), not vanish with the thread
            self._failure = error
            logger.exception("simulator server stopped with an error")
        finally:
            sock.close()
            loop.close()
            ready.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving. Requests held at the gate get a 503, and slow responses are sent at once."""
        thread, server, loop = self._thread, self._server, self._loop
        if thread is None or server is None:
            return

        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.app.closing.set)
            except RuntimeError:
                pass  # the loop closed between the check and the call
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)

        self._thread = None
        self._server = None
        self._loop = None
        logger.info("simulator on port %s stopped", self._port)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> SimulatorServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    # -- Addresses and credentials ---------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        """Origin of the simulator, such as ``http://127.0.0.1:8700``."""
        return f"http://{HOST}:{self.port}"

    @property
    def scim_url(self) -> str:
        """SCIM base URL of the profile: ``/api/v2/scim/v2`` on genesys, ``/scim/v2`` on generic."""
        prefix = GENESYS_PREFIXES[0] if self.app.genesys else GENERIC_PREFIXES[0]
        return self.base_url + prefix

    @property
    def login_url(self) -> str | None:
        """Origin of the OAuth login host on genesys (the simulator serves both hosts); None on generic."""
        return self.base_url if self.app.genesys else None

    @property
    def token_url(self) -> str | None:
        """The OAuth token endpoint on genesys; None on generic."""
        return self.base_url + TOKEN_PATH if self.app.genesys else None

    @property
    def config(self) -> SimulatorConfig:
        """The settings in force, including runtime changes."""
        return self.app.config

    @property
    def client_id(self) -> str:
        return str(self.app.config.client_id)

    @property
    def client_secret(self) -> str:
        return str(self.app.config.client_secret)

    @property
    def token(self) -> str | None:
        """A bearer token that the SCIM endpoints accept.

        On genesys, each read issues a new OAuth token valid for
        ``token_lifetime``. On generic, it is the static token, or None when
        the simulator needs no authentication.
        """
        if self.app.genesys:
            return self.issue_token()
        return self.app.config.bearer_token

    def issue_token(self) -> str:
        """Issue an OAuth token as ``POST /oauth/token`` would, without a request (genesys)."""
        token, _ = self._call(self.app.issue_token)
        return token

    # -- In-process admin helpers ----------------------------------------

    def _call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function`` on the server's loop and return its result; run it here when stopped."""
        loop = self._loop
        if loop is None or not self.running:
            return function(*args)

        async def run() -> T:
            return function(*args)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=30)

    def users(self) -> list[dict[str, Any]]:
        """Return every stored user as SCIM JSON, inactive ones included."""
        return self._call(self.app.user_dicts)

    def stats(self, include_timeline: bool = True) -> SimulatorStats:
        return self._call(lambda: self.app.stats.snapshot(self.app.faults.seed, include_timeline))

    def reset(self) -> None:
        """Empty the store (then preload it again), the stats and the rate windows, and open the gate."""
        self._call(self.app.reset)

    def configure(self, **changes: Any) -> SimulatorConfig:
        """Change runtime knobs, such as ``p503_before=0.5``; raises ValueError on an invalid value."""
        return self._call(self.app.apply_config, changes)

    def gate(self) -> None:
        """Hold every SCIM request that arrives from now on until :meth:`release`."""
        self._call(self.app.gate_open.clear)

    def release(self) -> None:
        """Let held and later SCIM requests through."""
        self._call(self.app.gate_open.set)

    def wait_for(self, predicate: Callable[[SimulatorStats], bool], timeout: float = 10.0) -> SimulatorStats:
        """Poll the stats until ``predicate`` holds; raises TimeoutError after ``timeout`` seconds.

        The snapshots it passes leave out the timeline, to stay cheap.
        """
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.stats(include_timeline=False)
            if predicate(snapshot):
                return snapshot
            if time.monotonic() >= deadline:
                raise TimeoutError(f"simulator stats did not reach the expected state within {timeout} seconds")
            time.sleep(0.005)

    def wait_until_held(self, count: int, timeout: float = 10.0) -> None:
        """Wait until at least ``count`` requests are held at the gate; raises TimeoutError."""
        self.wait_for(lambda stats: stats.held_at_gate >= count, timeout)

    async def async_wait_for(
        self, predicate: Callable[[SimulatorStats], bool], timeout: float = 10.0
    ) -> SimulatorStats:
        """Like :meth:`wait_for`, but sleeps on the caller's event loop between polls."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.stats(include_timeline=False)
            if predicate(snapshot):
                return snapshot
            if time.monotonic() >= deadline:
                raise TimeoutError(f"simulator stats did not reach the expected state within {timeout} seconds")
            await asyncio.sleep(0.005)

    async def async_wait_until_held(self, count: int, timeout: float = 10.0) -> None:
        await self.async_wait_for(lambda stats: stats.held_at_gate >= count, timeout)
