"""The machinery the cassette scripts share: a local fixture server, vcrpy recording, replay checks.

Each ``cassettes/<integration>/record.py`` declares its cassettes (the SDK call, the fixture
server's reply, the facts the call must report) and hands them to :func:`main`. For every cassette
the real SDK talks to a fixture server on 127.0.0.1, vcrpy records the exchange with the request
moved to the origin the tests' client uses, and the cassette is replayed with no server: the facts
must hold live and on replay, and the replayed objects must equal the live ones.

A cassette is any object with these attributes (the scripts use dataclasses):

- ``name``: the file name without ``.yaml``;
- ``origin``: scheme and host of the tests' client; the recorded URI is rewritten to it;
- ``client(origin)``: builds the SDK client for an origin;
- ``call(client)``: makes the SDK call and returns an :class:`Outcome`;
- ``expected``: the facts ``call`` must report.

The scripts run as files (``python cassettes/<x>/record.py``), so they put ``cassettes/`` on the
import path before importing this module.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import vcr

Json = dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """What the fixture server sends for one request.

    Attributes:
        status: HTTP status code.
        headers: Response headers, sent in this order (no Date or Server headers).
        parts: Body pieces (one SSE event each for streams); ``bytes`` for binary framings such
            as AWS event streams, sent as they are.
    """

    status: int
    headers: dict[str, str]
    parts: list[str] | list[bytes]


@dataclass(frozen=True)
class Outcome:
    """What one call produced.

    Attributes:
        facts: Small, version-independent facts checked against the cassette's expectation.
        dump: The full parsed result (``model_dump`` of every object), compared between the
            live call and its replay.
    """

    facts: Json
    dump: Any


class CassetteMismatchError(Exception):
    """A recorded or replayed cassette does not produce what its table expects."""


def require(condition: bool, message: str) -> None:
    """Raise ``CassetteMismatchError`` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CassetteMismatchError(message)


def encoded(part: str | bytes) -> bytes:
    """A reply's body piece as sent: text as UTF-8, binary framing unchanged."""
    return part if isinstance(part, bytes) else part.encode()


class FixtureHandler(BaseHTTPRequestHandler):
    """Answers each POST with the reply the server's ``answer`` gives for the JSON request body."""

    server: FixtureServer

    @property
    def protocol_version(self) -> str:
        """HTTP/1.1 when replies carry a content-length; HTTP/1.0 (body ends at close) otherwise."""
        return "HTTP/1.1" if self.server.content_length else "HTTP/1.0"

    def do_POST(self) -> None:
        """Read the JSON request body and write the reply."""
        size = int(self.headers.get("content-length") or 0)
        request = json.loads(self.rfile.read(size) or b"{}")
        reply = self.server.answer(self.server.cassette, self.path, request)
        self.send_response_only(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.server.content_length:
            body = b"".join(encoded(part) for part in reply.parts)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            return
        self.end_headers()
        for part in reply.parts:  # flushed one by one, as a server streams events
            self.wfile.write(encoded(part))
            self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the recording's output quiet."""


class FixtureServer(ThreadingHTTPServer):
    """Local stand-in for the API; answers with the reply of the cassette being recorded.

    Args:
        answer: Returns the reply for ``(cassette being recorded or None, path, request body)``.
        content_length: Send each reply in one piece with a content-length header (HTTP/1.1),
            instead of part by part until the connection closes (HTTP/1.0).
    """

    daemon_threads = True

    def __init__(
        self, answer: Callable[[Any, str, Json], Reply], *, content_length: bool = False
    ) -> None:
        super().__init__(("127.0.0.1", 0), FixtureHandler)
        self.answer = answer
        self.content_length = content_length
        self.cassette: Any = None

    @property
    def origin(self) -> str:
        """Scheme, host and port the clients reach the server at."""
        return f"http://127.0.0.1:{self.server_address[1]}"


def rewrite_origin(local: str, origin: str) -> Callable[[Any], Any]:
    """Return a ``before_record_request`` hook that moves requests from ``local`` to ``origin``.

    Args:
        local: The fixture server's origin (``http://127.0.0.1:<port>``).
        origin: The origin of the client the tests will build.
    """
    host = urlsplit(origin).netloc

    def rewrite(request: Any) -> Any:
        if request.uri.startswith(local):
            request.uri = origin + request.uri[len(local) :]
            request.headers["host"] = host
        return request

    return rewrite


class Recorder:
    """Records cassettes into one folder and replays them from it.

    Args:
        folder: Where the cassettes' YAML files live.
        secret_headers: Request headers never written to a cassette.
    """

    def __init__(self, folder: Path, secret_headers: Sequence[str]) -> None:
        self.folder = folder
        self.secret_headers = list(secret_headers)

    def path(self, cassette: Any) -> Path:
        """Return the YAML file of ``cassette``."""
        path: Path = self.folder / f"{cassette.name}.yaml"
        return path

    def record(self, cassette: Any, server: FixtureServer) -> Outcome:
        """Record ``cassette`` afresh from the fixture server and return the live outcome."""
        path = self.path(cassette)
        path.unlink(missing_ok=True)
        recorder = vcr.VCR(
            record_mode="all",
            decode_compressed_response=True,
            filter_headers=self.secret_headers,
            before_record_request=rewrite_origin(server.origin, cassette.origin),
        )
        server.cassette = cassette
        try:
            with recorder.use_cassette(str(path)) as tape:
                outcome: Outcome = cassette.call(cassette.client(server.origin))
        finally:
            server.cassette = None
        require(len(tape.data) == 1, f"{cassette.name}: recorded {len(tape.data)} interactions")
        require(
            outcome.facts == cassette.expected,
            f"{cassette.name}: live call gave {outcome.facts}, expected {cassette.expected}",
        )
        return outcome

    def replay(self, cassette: Any, call: Callable[[Any], Any]) -> Any:
        """Run ``call`` with the final client against the cassette alone (no network)."""
        player = vcr.VCR(record_mode="none", decode_compressed_response=True)
        with player.use_cassette(str(self.path(cassette))) as tape:
            result = call(cassette.client(cassette.origin))
        require(tape.all_played, f"{cassette.name}: replay left interactions unplayed")
        return result

    def check(self, cassette: Any, live: Outcome | None) -> list[str]:
        """Replay-check ``cassette``; compare with the live outcome when there is one.

        Returns:
            What was checked, for the summary line.
        """
        outcome: Outcome = self.replay(cassette, cassette.call)
        require(
            outcome.facts == cassette.expected,
            f"{cassette.name}: replay gave {outcome.facts}, expected {cassette.expected}",
        )
        checked = ["facts"]
        if live is not None:
            require(outcome.dump == live.dump, f"{cassette.name}: replayed object differs")
            checked.append("parsed object == live")
        return checked


def main(
    argv: list[str] | None,
    *,
    description: str,
    cassettes: Sequence[Any],
    recorder: Recorder,
    server: Callable[[], FixtureServer],
    sdk_environment: Sequence[str],
    banner: str,
    check: Callable[[Any, Outcome | None], list[str]] | None = None,
    skip: Callable[[Any], str | None] | None = None,
) -> int:
    """Record (unless ``--check``) and replay-check the cassettes named on the command line.

    Args:
        argv: Command-line arguments; ``sys.argv[1:]`` when None.
        description: The script's one-line description, for ``--help``.
        cassettes: Every cassette of the script, in recording order.
        recorder: Records and replays them.
        server: Builds the fixture server (started only when recording).
        sdk_environment: Environment variables the SDK reads; cleared so that recordings do not
            depend on the shell.
        banner: The first line printed (SDK and vcrpy versions).
        check: Replay-checks a cassette (default: ``recorder.check``).
        skip: Says why a cassette cannot be replay-checked with this SDK, or returns ``None``.

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("names", nargs="*", help="cassettes to process (default: all)")
    parser.add_argument("--check", action="store_true", help="only replay-check, do not record")
    args = parser.parse_args(argv)
    known = {cassette.name: cassette for cassette in cassettes}
    unknown = sorted(set(args.names) - set(known))
    if unknown:
        parser.error(f"unknown cassettes: {', '.join(unknown)}")
    selected = [known[name] for name in args.names] if args.names else list(cassettes)
    check = check or recorder.check

    for name in sdk_environment:
        os.environ.pop(name, None)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    print(banner)

    if args.check:
        for cassette in selected:
            reason = skip(cassette) if skip is not None else None
            if reason is None:
                print(f"ok      {cassette.name}: {', '.join(check(cassette, None))}")
            else:
                print(f"skip    {cassette.name}: {reason}")
        return 0

    fixture_server = server()
    threading.Thread(target=fixture_server.serve_forever, daemon=True).start()
    try:
        for cassette in selected:
            live = recorder.record(cassette, fixture_server)
            checked = ", ".join(check(cassette, live))
            print(f"ok      {cassette.name}: recorded; replay: {checked}")
    finally:
        fixture_server.shutdown()
        fixture_server.server_close()
    return 0
