"""Screenshot an admin page as a signed-in user, with headless Chromium at 1366x768.

Against a running server with the demo data (see docs/admin.md, "Screenshots"):

    .venv/bin/python docs/screenshots/take.py                      # the lead's ticket list
    .venv/bin/python docs/screenshots/take.py --sample-tickets     # first open a few long-titled tickets
    .venv/bin/python docs/screenshots/take.py --path /admin/ai_assist/suggestion/ --out docs/screenshots/x.png
    .venv/bin/python docs/screenshots/take.py --path /admin/tickets/ticket/<id>/change/ --full-page --out ...
    .venv/bin/python docs/screenshots/take.py --path /api/docs/ --settle 3 --out docs/screenshots/swagger-ui.png

It signs in through the real admin login form (requests), hands the session cookie to Chromium
over the DevTools protocol (websockets), opens the page and saves a PNG of the viewport.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
import websockets

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT = 1366, 768
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--window-size={WIDTH},{HEIGHT}",
    "--remote-debugging-port=0",
    "--hide-scrollbars",
]
SAMPLE_TICKETS = [
    (
        "VPN disconnects every ten minutes when working from the Berlin office on the guest Wi-Fi, "
        "but only on the second floor meeting rooms",
        "Since Monday the VPN client drops roughly every ten minutes; reconnecting works.",
    ),
    (
        "Wi-Fi in building C is very slow in the afternoons and video calls keep freezing for the whole team",
        "Speed tests show under 2 Mbit/s between 14:00 and 17:00.",
    ),
    ("Cannot reach the intranet over VPN", "The intranet times out; public sites work."),
]


def session_cookie(base: str, email: str, password: str) -> str:
    """Sign in through /admin/login/ as a browser would; return the session id."""
    http = requests.Session()
    login = urljoin(base, "/admin/login/")
    http.get(login, timeout=30).raise_for_status()
    response = http.post(
        login,
        data={
            "username": email,
            "password": password,
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
            "next": "/admin/",
        },
        headers={"Referer": login},
        timeout=30,
        allow_redirects=False,
    )
    if response.status_code != 302 or "sessionid" not in http.cookies:
        raise SystemExit(f"Could not sign in as {email} (HTTP {response.status_code}).")
    return http.cookies["sessionid"]


def open_sample_tickets(base: str, email: str, password: str) -> None:
    """Open the sample tickets through the API as an employee (once: titles already there are skipped)."""
    api = requests.Session()
    token = api.post(urljoin(base, "/api/v1/auth/login/"), json={"email": email, "password": password}, timeout=30)
    token.raise_for_status()
    api.headers["Authorization"] = f"Bearer {token.json()['access']}"
    mine = api.get(urljoin(base, "/api/v1/tickets/"), params={"page_size": 100}, timeout=30).json()["results"]
    existing = {ticket["title"] for ticket in mine}
    for title, description in SAMPLE_TICKETS:
        if title not in existing:
            api.post(
                urljoin(base, "/api/v1/tickets/"), json={"title": title, "description": description}, timeout=120
            ).raise_for_status()


async def capture(url: str, cookie: str, out: Path, *, full_page: bool = False, settle: float = 0) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        raise SystemExit("Chromium is missing: apt-get update && apt-get install -y chromium")
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:  # its helpers may outlive it
        browser = subprocess.Popen(  # noqa: S603 (our own arguments)
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port = _devtools_port(Path(profile))
            targets = requests.get(f"http://127.0.0.1:{port}/json", timeout=10).json()
            page = next(target for target in targets if target["type"] == "page")
            async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as devtools:
                ids = itertools.count(1)

                async def call(method: str, **params) -> dict:
                    message_id = next(ids)
                    await devtools.send(json.dumps({"id": message_id, "method": method, "params": params}))
                    while True:
                        message = json.loads(await devtools.recv())
                        if message.get("id") == message_id:
                            if "error" in message:
                                raise RuntimeError(f"{method}: {message['error']}")
                            return message["result"]

                await call("Network.enable")
                parts = urlsplit(url)
                await call(
                    "Network.setCookie",
                    name="sessionid",
                    value=cookie,
                    url=f"{parts.scheme}://{parts.netloc}/",
                    httpOnly=True,
                )
                await call(
                    "Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False
                )
                await call("Page.enable")
                await call("Page.navigate", url=url)
                while True:  # wait for the page to load
                    message = json.loads(await asyncio.wait_for(devtools.recv(), timeout=30))
                    if message.get("method") == "Page.loadEventFired":
                        break
                await asyncio.sleep(settle)  # pages drawn by JavaScript after load (Swagger UI)
                options: dict = {"format": "png"}
                if full_page:  # the whole page at the window's width, not only what fits in 768 px
                    size = (await call("Page.getLayoutMetrics"))["cssContentSize"]
                    clip = {"x": 0, "y": 0, "width": WIDTH, "height": size["height"], "scale": 1}
                    options.update(captureBeyondViewport=True, clip=clip)
                shot = await call("Page.captureScreenshot", **options)
                out.write_bytes(base64.b64decode(shot["data"]))
        finally:
            browser.terminate()
            browser.wait(timeout=10)


def _devtools_port(profile: Path) -> int:
    """Chromium writes the port it chose (--remote-debugging-port=0) into its profile."""
    marker = profile / "DevToolsActivePort"
    for _ in range(100):
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        time.sleep(0.1)
    raise SystemExit("Chromium did not start its DevTools endpoint.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="http://127.0.0.1:8765", help="the running server")
    parser.add_argument("--path", default="/admin/tickets/ticket/", help="the page to capture")
    parser.add_argument("--email", default="lead.network@example.com")
    parser.add_argument("--password", default="helpdesk-demo-2026")
    parser.add_argument("--out", type=Path, default=HERE / "admin-ticket-list-lead.png")
    parser.add_argument(
        "--sample-tickets",
        action="store_true",
        help="first open a few long-titled tickets as employee@example.com (through the API; once)",
    )
    parser.add_argument("--full-page", action="store_true", help="the whole page, not only the first screen")
    parser.add_argument("--settle", type=float, default=0, help="seconds to wait after the page loaded")
    args = parser.parse_args()
    if args.sample_tickets:
        open_sample_tickets(args.base, "employee@example.com", args.password)
    cookie = session_cookie(args.base, args.email, args.password)
    asyncio.run(capture(urljoin(args.base, args.path), cookie, args.out, full_page=args.full_page, settle=args.settle))
    print(f"Saved {args.out}")


if __name__ == "__main__":
    main()
