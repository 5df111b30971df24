"""An oversized body is refused while it arrives (helpdesk/asgi_limits.py), chunked bodies too:
in front of Django's ASGI handler, which would otherwise read it all before any check runs."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import time

import pytest
from django.test import override_settings

from helpdesk.asgi_limits import BodyLimitMiddleware
from tests.helpdesk.servers import live_server

LIMIT = 4096


class Recorder:
    """An ASGI app and the client around it: what the app read, what reached the client."""

    def __init__(self, chunks: list[bytes]):
        self.chunks = list(chunks)
        self.delivered = 0  # http.request messages handed out by the server
        self.sent: list[dict] = []
        self.app_called = False

    async def receive(self):
        if not self.chunks:
            return {"type": "http.disconnect"}
        self.delivered += 1
        body = self.chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(self.chunks)}

    async def send(self, message):
        self.sent.append(message)

    async def app(self, scope, receive, send):
        """Reads the whole body as Django's handler does, then answers 200."""
        self.app_called = True
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # Django: RequestAborted, nothing sent
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def scope(headers: dict[str, str]) -> dict:
    return {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/tickets/",
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
    }


def run(recorder: Recorder, headers: dict[str, str]) -> None:
    asyncio.run(BodyLimitMiddleware(recorder.app)(scope(headers), recorder.receive, recorder.send))


@override_settings(MAX_REQUEST_BYTES=LIMIT, MAX_UPLOAD_BYTES=4 * LIMIT)
def test_a_declared_length_over_the_limit_is_refused_without_reading_anything():
    recorder = Recorder([b"x" * 1024] * 10)
    run(recorder, {"content-type": "application/json", "content-length": str(10 * 1024)})
    assert recorder.delivered == 0 and not recorder.app_called
    start, body = recorder.sent
    assert start["status"] == 413
    assert dict(start["headers"])[b"content-type"] == b"application/problem+json"
    problem = json.loads(body["body"])
    assert problem["code"] == "payload_too_large" and problem["status"] == 413


@override_settings(MAX_REQUEST_BYTES=LIMIT, MAX_UPLOAD_BYTES=4 * LIMIT)
def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit():
    recorder = Recorder([b"x" * 1024] * 100)  # 100 KiB announced by nothing: chunked
    run(recorder, {"content-type": "application/json", "transfer-encoding": "chunked"})
    assert recorder.delivered == 5  # 4 KiB fit, the 5th chunk passes the limit: nothing more is read
    assert [message["type"] for message in recorder.sent] == ["http.response.start", "http.response.body"]
    assert recorder.sent[0]["status"] == 413


@override_settings(MAX_REQUEST_BYTES=LIMIT, MAX_UPLOAD_BYTES=4 * LIMIT)
def test_multipart_uploads_have_their_own_larger_limit():
    fits = Recorder([b"x" * 1024] * 12)
    run(fits, {"content-type": "multipart/form-data; boundary=b", "transfer-encoding": "chunked"})
    assert fits.sent[0]["status"] == 200
    too_big = Recorder([b"x" * 1024] * 20)
    run(too_big, {"content-type": "multipart/form-data; boundary=b", "transfer-encoding": "chunked"})
    assert too_big.sent[0]["status"] == 413 and too_big.delivered == 17


@override_settings(MAX_REQUEST_BYTES=LIMIT, MAX_UPLOAD_BYTES=4 * LIMIT)
def test_a_body_within_the_limit_reaches_the_app():
    recorder = Recorder([b"x" * 1024] * 4)
    run(recorder, {"content-type": "application/json", "transfer-encoding": "chunked"})
    assert recorder.sent[0]["status"] == 200


def test_websockets_and_lifespan_pass_untouched():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    async def nothing():
        return {}

    async def ignore(message):
        return None

    for kind in ("websocket", "lifespan"):
        asyncio.run(BodyLimitMiddleware(app)({"type": kind}, nothing, ignore))
    assert seen == ["websocket", "lifespan"]


# --- Over a real socket, against uvicorn ---------------------------------------------------------


def _read_response(sock: socket.socket, timeout: float) -> bytes:
    """Whatever the server sent within `timeout` seconds (up to the end of its headers and body)."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], 0.05)
        if ready:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and b"}" in data:
                break
    return data


@pytest.mark.e2e
def test_the_real_server_answers_413_before_the_chunked_body_is_sent(tmp_path):
    env = {"MAX_REQUEST_BYTES": str(LIMIT), "MAX_UPLOAD_BYTES": str(4 * LIMIT)}
    with live_server(tmp_path, env=env) as server:
        planned_chunks, chunk = 200, b"x" * 1024  # 200 KiB planned, never announced
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/v1/auth/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            sent = 0
            response = b""
            for _ in range(planned_chunks):
                try:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except (BrokenPipeError, ConnectionResetError):
                    break  # the server closed the connection after its answer
                sent += 1
                # Within the limit, keep sending; once past it, give the server time to answer.
                response = _read_response(sock, 10 if sent * len(chunk) > LIMIT else 0.02)
                if response:
                    break
        assert response.startswith(b"HTTP/1.1 413"), response[:200]
        assert b"application/problem+json" in response
        assert b'"payload_too_large"' in response
        # The answer came once the limit was passed, while the body was still being sent: the
        # request was never finished (no last chunk), and 195 of its 200 KiB were never sent.
        assert sent == LIMIT // len(chunk) + 1, sent

        # A declared Content-Length over the limit is refused before any body byte is sent.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/v1/auth/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
            )
            response = _read_response(sock, 5)
        assert response.startswith(b"HTTP/1.1 413"), response[:200]
