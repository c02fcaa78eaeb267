"""Serving the sandbox emulators with uvicorn.

`ServerThread` runs any ASGI app on loopback in a background thread, on a port the OS picks, so that tests
and `trueup demo` can talk to it over real HTTP. `run_forever` serves an app in the foreground.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

__all__ = ["ServerThread", "run_forever"]


def _http_impl() -> str:
    return "httptools" if importlib.util.find_spec("httptools") is not None else "h11"


# The event loop of the servers `ServerThread` starts. In a test process they share the loop of pytest's own
# choosing (asyncio); a sandbox world serving from its own process (`python -m trueup.sandbox.world`, as the
# benchmarks run it) switches to uvloop, so that the emulators take less of the machine the engine runs on.
_THREAD_LOOP = ["asyncio"]


def use_uvloop_in_threads() -> None:
    """Serve with uvloop from now on, when it is installed (a process of its own only)."""
    if importlib.util.find_spec("uvloop") is not None:
        _THREAD_LOOP[0] = "uvloop"


def _config(app: ASGIApp, *, loop: str, host: str = "127.0.0.1", port: int = 0) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        access_log=False,
        log_level="warning",
        http=_http_impl(),
        ws="none",
        loop=loop,
        timeout_graceful_shutdown=5,
    )


class _Server(uvicorn.Server):
    """A uvicorn server that tells a waiting thread when it is listening (no polling, no sleeps)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


class ServerThread:
    """Runs an ASGI app under uvicorn on 127.0.0.1 in a background thread.

    `start()` binds a socket to port 0, hands it to uvicorn, waits until uvicorn listens and returns the
    real port. `stop()` asks uvicorn to shut down gracefully and joins the thread. Also a context manager.
    """

    def __init__(
        self, app: ASGIApp, *, host: str = "127.0.0.1", start_timeout: float = 10.0, port: int = 0
    ) -> None:
        self.app = app
        self.host = host
        self.bind_port = port  # 0: the OS picks one
        self.start_timeout = start_timeout
        self._port: int | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        """The port the server listens on (only once started)."""
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> int:
        """Start serving and return the port; raises `RuntimeError` if uvicorn fails to start."""
        if self._thread is not None:
            raise RuntimeError("the server is already started")
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the listening
        # socket says it is TCP; without it every small response waits ~40 ms (Nagle + delayed ACK).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.bind_port))
        sock.listen(2048)
        sock.set_inheritable(True)
        self._socket = sock
        self._port = sock.getsockname()[1]
        server = _Server(_config(self.app, loop=_THREAD_LOOP[0], host=self.host))
        self._server = server
        thread = threading.Thread(target=self._run, name=f"sandbox-{self._port}", daemon=True)
        self._thread = thread
        thread.start()
        if not server.ready.wait(self.start_timeout) or not server.started:
            self.stop()
            raise RuntimeError(f"the sandbox server did not start: {self._error!r}")
        return self._port

    def _run(self) -> None:
        assert self._server is not None and self._socket is not None
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # reported by start()
            self._error = exc
        finally:
            self._server.ready.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down gracefully and join the thread. Safe to call more than once."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._server = None

    def __enter__(self) -> Self:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def run_forever(app: ASGIApp, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve `app` in the foreground until interrupted (uvloop when it is installed)."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
    uvicorn.Server(_config(app, loop=loop, host=host, port=port)).run()
