"""The web app's figures on a demo instance, through a real `outfit serve` (waitress) over
loopback:

  start_to_first_page_s   from starting `outfit serve` to the first answered GET / (median of
                          --starts runs; includes Python's imports and opening the store)
  recommend_ms            POST /api/v1/recommend (k=6, re-roll 0..n-1, so no two alike):
                          the first call (item features read from the store's cache or computed)
                          and the median and p95 of the rest
  explain_ms              POST /api/v1/explain (gxa) on the recommended outfits: first, median,
                          p95
  explain_shapley_ms      the same with the exact Shapley method over items

The demo instance is `make demo` (`outfit demo --no-serve --home H`); pass its folder with
--home. Without --home a tiny demo is prepared in a temporary folder (`--quick` settings: a
poor model, the figures then show the app's own overhead more than the model's).

Run: .venv/bin/python bench/web_latency.py --home ~/.outfit
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUTFIT = Path(sys.executable).with_name("outfit")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", type=Path, default=None, help="A prepared demo instance folder")
    p.add_argument("--starts", type=int, default=3, help="Server starts to time")
    p.add_argument("--requests", type=int, default=30, help="Requests per kind")
    return p


class Client:
    """A browser-like client: keeps the session cookie, sends the page's CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.opener.open(base).read().decode()
        self.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def post(self, path: str, body: dict) -> tuple[float, dict]:
        req = urllib.request.Request(self.base.rstrip("/") + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              "X-CSRFToken": self.token}, method="POST")
        t = time.perf_counter()
        with self.opener.open(req) as r:
            doc = json.loads(r.read())
        return (time.perf_counter() - t) * 1000, doc


def start_server(home: Path) -> tuple[subprocess.Popen, str, float]:
    """Start `outfit serve`; the URL and the seconds until GET / answered 200."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(OUTFIT), "serve", "--home", str(home), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = None
    for line in proc.stdout:  # type: ignore[union-attr]
        m = re.search(r"(http://\S+/)", line)
        if m:
            url = m.group(1)
            break
    if url is None:
        raise SystemExit(f"the server did not start: exit code {proc.wait()}")
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                if r.status == 200 and r.read():
                    return proc, url, time.perf_counter() - t0
        except OSError:
            time.sleep(0.01)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def summary(ms: list[float]) -> dict:
    rest = sorted(ms[1:]) or sorted(ms)
    return {"first": round(ms[0], 1), "median": round(statistics.median(rest), 1),
            "p95": round(rest[min(len(rest) - 1, int(0.95 * len(rest)))], 1), "n": len(ms)}


def main(args: argparse.Namespace) -> dict:
    home = args.home
    tmp = None
    if home is None:
        from usecases.demo import QUICK, prepare_demo

        tmp = tempfile.TemporaryDirectory()
        home = Path(tmp.name) / "home"
        prepare_demo(home, closet_items=80, progress=False, echo=lambda _: None, **QUICK)
    starts = []
    for _ in range(max(1, args.starts) - 1):
        proc, _url, s = start_server(home)
        starts.append(s)
        stop(proc)
    proc, url, s = start_server(home)
    starts.append(s)
    try:
        client = Client(url)
        rec_ms, outfits = [], []
        for n in range(args.requests):
            ms, doc = client.post("/api/v1/recommend", {"k": 6, "reroll": n})
            rec_ms.append(ms)
            outfits += [[it["id"] for it in o["items"]] for o in doc["recommendations"]]
        if not outfits:
            raise SystemExit("no outfit was recommended: is the demo closet empty?")
        gxa = [client.post("/api/v1/explain", {"items": outfits[k % len(outfits)],
                                               "method": "gxa"})[0]
               for k in range(args.requests)]
        shap = [client.post("/api/v1/explain", {"items": outfits[k % len(outfits)],
                                                "method": "shapley-items"})[0]
                for k in range(args.requests)]
    finally:
        stop(proc)
        if tmp is not None:
            tmp.cleanup()
    from closet.store import Store

    return {"home": str(args.home) if args.home else "quick demo (temporary)",
            "closet_items": Store(home).count() if tmp is None else 80,
            "start_to_first_page_s": {"median": round(statistics.median(starts), 2),
                                      "runs": [round(s, 2) for s in starts]},
            "recommend_ms": summary(rec_ms), "explain_ms": summary(gxa),
            "explain_shapley_ms": summary(shap),
            "outfit_sizes": sorted({len(o) for o in outfits})}


if __name__ == "__main__":
    print(json.dumps(main(get_args_parser().parse_args()), indent=1))
