"""`clientfolio serve`: the web pages and the HTTP API under uvicorn, with a background worker beside them."""

from __future__ import annotations

import ctypes
import ipaddress
import os
import signal
import socket
import subprocess
import sys

import typer

from clientfolio.domain.errors import InvalidInput
from clientfolio.entrypoints.cli.app import errors, state


PR_SET_PDEATHSIG = 1  # prctl(2)


def serve(host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
          port: int = typer.Option(8000, "--port", min=1, max=65535),
          workers: int = typer.Option(1, "--workers", min=1, max=64, help="Processes serving requests."),
          tls_cert: str = typer.Option(None, "--tls-cert", help="PEM certificate (chain): serve HTTPS."),
          tls_key: str = typer.Option(None, "--tls-key", help="PEM private key of --tls-cert."),
          insecure_http: bool = typer.Option(False, "--insecure-http",
                                             help="Allow plain HTTP on an address other than loopback."),
          worker: bool = typer.Option(True, "--worker/--no-worker",
                                      help="Also run the background worker (OCR, indexing, webhooks) as a child "
                                           "process; --no-worker when workers run elsewhere.")):
    """Serve the web pages and the HTTP API on 127.0.0.1:8000 (API docs at /api/docs). HTTPS with
    --tls-cert/--tls-key."""
    import uvicorn

    if bool(tls_cert) != bool(tls_key):
        raise InvalidInput("give both --tls-cert and --tls-key, or neither")
    tls = bool(tls_cert)
    if not tls and not _is_loopback(host):
        if not insecure_http:
            raise InvalidInput(f"refusing to serve plain HTTP on {host}: passwords and documents would cross the "
                               "network unencrypted; give --tls-cert and --tls-key, or --insecure-http if a "
                               "TLS proxy in front of this server handles it")
        errors.print(f"[bold red]warning:[/] serving plain HTTP on {host}: only behind a TLS proxy")
    state.vault  # open (and migrate) once here, so a wrong key or missing vault is reported before serving
    os.environ["CLIENTFOLIO_HOME"] = str(state.home)
    os.environ["CLIENTFOLIO_TLS"] = "1" if tls else "0"
    scheme = "https" if tls else "http"
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    errors.print(f"Clientfolio on {scheme}://{shown}:{port}/ (API {scheme}://{shown}:{port}/api/v1, "
                 f"docs {scheme}://{shown}:{port}/api/docs)")
    child = _start_worker() if worker else None
    # uvicorn re-raises SIGTERM after its graceful shutdown; with the default handler that would end this
    # process before `finally` stops the worker, so SIGTERM becomes an ordinary exit here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run("clientfolio.entrypoints.api.asgi:make_app", factory=True, host=host, port=port,
                    workers=workers, ssl_certfile=tls_cert, ssl_keyfile=tls_key, proxy_headers=False,
                    server_header=False, log_level="warning")
    finally:
        if child is not None:
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()


def _start_worker() -> subprocess.Popen:
    """`clientfolio worker` in its own process (jobs are durable, so stopping it with the server loses none)."""
    command = [sys.executable, "-c", "from clientfolio.entrypoints.cli.main import run; run()",
               "--home", str(state.home), "worker"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM when the server process ends in any way, SIGKILL included."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
        except OSError:
            return False
