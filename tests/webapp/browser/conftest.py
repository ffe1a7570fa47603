"""Fixtures for the browser tests: a demo instance served by the real ``outfit serve`` (waitress,
in a subprocess), Debian's Chromium driven by Playwright, and a fresh page per test that
collects the browser's console errors, uncaught exceptions and CSP violations.

The server and the browser start once per session. Tests skip, saying how to install what is
missing, where Playwright or Chromium is absent; CI (``.ci/run``) installs both.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from usecases.demo import QUICK, prepare_demo

REPO = Path(__file__).resolve().parents[3]
OUTFIT = Path(sys.executable).with_name("outfit")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERVER_START_S = 60
ANNOUNCE = re.compile(r"Serving the closet at (http://\S+/)")
EXPECT_TIMEOUT_MS = 30_000  # a shared 2-core machine explains an outfit in well under this
# Reported by Chromium in the page itself; the listener is not subject to the page's CSP.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where full-page screenshots go: ``$OUTFIT_SCREENSHOTS``, else ``build/screenshots``."""
    folder = Path(os.environ.get("OUTFIT_SCREENSHOTS") or REPO / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser_home(tmp_path_factory) -> Path:
    """An instance with the tiny demo model and a 40-item demo closet (a few seconds)."""
    home = tmp_path_factory.mktemp("browser") / "home"
    prepare_demo(home, closet_items=40, progress=False, echo=lambda _: None, **QUICK)
    return home


def _read_lines(stream, lines: queue.Queue) -> None:
    """Copies the server's stdout into ``lines`` until it closes (the pipe never fills up)."""
    for line in stream:
        lines.put(line)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def live_server(browser_home, tmp_path_factory) -> Iterator[str]:
    """The URL (``http://127.0.0.1:PORT/``) of ``outfit serve`` on the demo instance."""
    log_path = tmp_path_factory.mktemp("server") / "stderr.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(OUTFIT), "serve", "--home", str(browser_home), "--port", "0"],
                                stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
    reader.start()
    try:
        url = None
        deadline = time.monotonic() + SERVER_START_S
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                match = ANNOUNCE.search(lines.get(timeout=0.5))
            except queue.Empty:
                continue
            url = match.group(1) if match else None
        while url and time.monotonic() < deadline and not _answers(url):
            time.sleep(0.1)  # the socket listens before the announcement; this is a safety net
        if url is None or not _answers(url):
            raise RuntimeError(f"`outfit serve` did not start within {SERVER_START_S} s "
                               f"(exit code {proc.poll()}); its stderr:\n{log_path.read_text()}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright (no downloaded browser)."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: .venv/bin/pip install -e '.[test]' "
                    "(or .venv/bin/pip install playwright)")
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM}: apt-get install chromium "
                    "(.ci/run does this in CI)")
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    """A page in a fresh browser context (own cookies) on the live server; at teardown, fails
    the test where the browser reported a console error, an uncaught exception or a CSP
    violation."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    context.add_init_script(CSP_LISTENER)
    problems: list[str] = []
    tab = context.new_page()
    tab.on("console", lambda m: problems.append(f"console {m.type} at {m.location.get('url')}: {m.text}")
           if m.type == "error" else None)
    tab.on("pageerror", lambda exc: problems.append(f"uncaught exception: {exc}"))
    try:
        yield tab
    finally:
        context.close()
    assert not problems, "the browser reported:\n" + "\n".join(problems)
