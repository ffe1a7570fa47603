"""Load: concurrent clients against the app on waitress over loopback, then a check that the
closet holds exactly what the clients' ledgers say.

Each of --clients threads sends its share of --requests mixed requests, drawn with a seed:

  list       GET  /api/v1/items?limit=50&offset=...     upload   POST /api/v1/items (a new photo)
  tag        PATCH /api/v1/items/<own id>               delete   DELETE /api/v1/items/<own id>
  recommend  POST /api/v1/recommend (k=3, re-roll n)    explain  POST /api/v1/explain
  export     GET  /api/v1/closet/export (the whole closet as a zip, read to the end)

Beside them one hostile client (bench/load_hostile.py) sends --hostile requests an attacker
would (a foreign Host, oversized and malformed uploads and zips), each of which has one right
refusal; the report counts how many got it, and checks that the item it aims at, and the
closet as a whole, came out unchanged.

Clients tag and delete only items they created, so every answer has one right outcome. A
client keeps a ledger of the items it created (201) and deleted (204). Afterwards the database
must hold the items it held before, plus every item created and not deleted, each once: none
lost, none duplicated, none left that a client deleted. The store's integrity report must be
clean (SQLite integrity_check, no item without its files, no file without its item).

Prints one JSON object: requests per kind with their 2xx/4xx/5xx counts and latency (median,
p95, p99 ms), server errors (goal 0), the ledger check (lost, duplicated, resurrected: goal 0),
the integrity report, and the throughput. The server is the real `outfit serve` (waitress, 8
threads) on a demo instance: --home (e.g. one made by `make demo`), else a tiny demo prepared
in a temporary folder.

Run: .venv/bin/python bench/load.py [--home ~/.outfit] [--clients 8] [--requests 10000]
A bounded run is part of the test suite (tests/webapp/test_load.py).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from load_hostile import HostileWorker  # noqa: E402 - after the path above

OUTFIT = Path(sys.executable).with_name("outfit")
KINDS: dict[str, float] = {"list": 0.25, "upload": 0.17, "tag": 0.15, "recommend": 0.1,
                           "explain": 0.15, "delete": 0.13, "export": 0.05}
"""Share of each kind of request in the mix."""


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", type=Path, default=None,
                   help="A demo instance folder (it is copied: the run does not change it)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--hostile", type=int, default=None,
                   help="Requests of the hostile client, in the mix (default: --requests / 20)")
    p.add_argument("--seed", type=int, default=0)
    return p


@dataclass
class Ledger:
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


class Client:
    """One keep-alive HTTP connection with the session cookie and the CSRF token of a page,
    as a browser tab has them."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.cookie = ""
        status, headers, body = self.request("GET", "/")
        if status != 200:
            raise RuntimeError(f"GET / answered {status}")
        self.token = re.search(rb'name="csrf-token" content="([^"]+)"', body).group(1).decode()

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = self.cookie
        if method != "GET" and hasattr(self, "token"):
            h["X-CSRFToken"] = self.token
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=h)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed a kept-alive connection between requests: open a new one,
                # once. A request that was sent and not answered counts as a failure.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt:
                    raise
        cookie = resp.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def json(self, method: str, path: str, doc: object) -> tuple[int, dict[str, str], bytes]:
        return self.request(method, path, json.dumps(doc).encode(),
                            {"Content-Type": "application/json"})

    def upload(self, name: str, photo: bytes) -> tuple[int, dict[str, str], bytes]:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photos\"; "
                f"filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n").encode() + photo + \
            f"\r\n--{boundary}--\r\n".encode()
        return self.request("POST", "/api/v1/items", body,
                            {"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def close(self) -> None:
        self.conn.close()


def make_photo(rng: random.Random, size: int = 48) -> bytes:
    """A small PNG no other client makes: a coloured garment-like block with random noise."""
    from PIL import Image

    im = Image.new("RGB", (size, size), (250, 250, 250))
    color = tuple(rng.randrange(256) for _ in range(3))
    block = Image.new("RGB", (size // 2, size * 2 // 3), color)
    im.paste(block, (size // 4, size // 6))
    noise = bytes(rng.randrange(256) for _ in range(size * 3))
    im.paste(Image.frombytes("RGB", (size, 1), noise), (0, size - 1))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


class Worker(threading.Thread):
    def __init__(self, k: int, url: str, n: int, seed: int, outfits: list[list[str]],
                 lock: threading.Lock) -> None:
        super().__init__(name=f"client-{k}", daemon=True)
        self.k, self.url, self.n = k, url, n
        self.rng = random.Random(seed * 1000 + k)
        self.outfits, self.lock = outfits, lock
        self.ledger = Ledger()
        self.live: list[str] = []
        self.times: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, Counter] = defaultdict(Counter)
        self.failures: list[str] = []  # 5xx and transport errors, with what was asked
        self.refusals: dict[str, list[str]] = defaultdict(list)  # 4xx samples per kind

    def run(self) -> None:
        client = Client(self.url)
        kinds, weights = list(KINDS), list(KINDS.values())
        try:
            for i in range(self.n):
                kind = self.rng.choices(kinds, weights)[0]
                if kind in ("tag", "delete") and not self.live:
                    kind = "upload"
                t = time.perf_counter()
                try:
                    status, body = self.one(client, kind, i)
                except (OSError, http.client.HTTPException) as exc:
                    status, body = 599, str(exc).encode()
                self.times[kind].append((time.perf_counter() - t) * 1000)
                self.status[kind][status // 100 * 100] += 1
                if status >= 500:
                    self.failures.append(f"{kind}: {status} {body[:200]!r}")
                elif status >= 400 and len(self.refusals[kind]) < 3:
                    self.refusals[kind].append(f"{status} {body[:300]!r}")
        finally:
            client.close()

    def one(self, c: Client, kind: str, i: int) -> tuple[int, bytes]:
        rng = self.rng
        if kind == "list":
            status, _, body = c.request("GET", f"/api/v1/items?limit=50&offset={rng.randrange(0, 100)}")
        elif kind == "upload":
            status, _, body = c.upload(f"client{self.k}-{i}.png", make_photo(rng))
            if status == 201:
                for r in json.loads(body)["results"]:
                    if r.get("item"):
                        self.ledger.created.append(r["item"]["id"])
                        self.live.append(r["item"]["id"])
        elif kind == "tag":
            item = rng.choice(self.live)
            status, _, body = c.json("PATCH", f"/api/v1/items/{item}",
                                     {"color": rng.choice(["red", "blue", "black", "white"]),
                                      "in_wash": rng.random() < 0.2})
        elif kind == "delete":
            item = self.live.pop(rng.randrange(len(self.live)))
            status, _, body = c.request("DELETE", f"/api/v1/items/{item}")
            if status == 204:
                self.ledger.deleted.append(item)
        elif kind == "recommend":
            status, _, body = c.json("POST", "/api/v1/recommend", {"k": 3, "reroll": rng.randrange(50)})
            if status == 200:
                found = [[it["id"] for it in o["items"]] for o in json.loads(body)["recommendations"]]
                with self.lock:
                    self.outfits.extend(found)
                    del self.outfits[:-200]
        elif kind == "explain":
            with self.lock:
                outfit = rng.choice(self.outfits) if self.outfits else None
            if outfit is None:
                return self.one(c, "recommend", i)
            status, _, body = c.json("POST", "/api/v1/explain", {"items": outfit})
        elif kind == "export":
            status, _, body = c.request("GET", "/api/v1/closet/export")
            if status == 200:
                if body[:2] != b"PK":
                    return 598, b"the export is not a zip"
                body = b""
        else:
            raise ValueError(kind)
        return status, body


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([str(OUTFIT), "serve", "--home", str(home), "--port", "0",
                             "--threads", "8"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:  # type: ignore[union-attr]
        m = re.search(r"(http://\S+/)", line)
        if m:
            return proc, m.group(1)
    raise RuntimeError(f"`outfit serve` did not start (exit code {proc.wait()})")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _ms(xs: list[float]) -> dict[str, float]:
    s = sorted(xs)

    def q(p: float) -> float:
        return round(s[min(len(s) - 1, int(p * len(s)))], 1)

    return {"median": round(statistics.median(s), 1), "p95": q(0.95), "p99": q(0.99)}


def run_load(home: Path, clients: int, requests: int, seed: int = 0,
             hostile: int | None = None) -> dict:
    """Run the load on the instance ``home`` (changed by the run) and check it; the report."""
    from closet.store import Store

    store = Store(home)
    before = {r.id for r in store.list(limit=10**9)}
    victim = min(before) if before else None
    victim_before = store.get(victim).to_dict() if victim else None
    proc, url = start_server(home)
    outfits: list[list[str]] = []
    lock = threading.Lock()
    share = [requests // clients + (k < requests % clients) for k in range(clients)]
    workers = [Worker(k, url, share[k], seed, outfits, lock) for k in range(clients)]
    attacker = HostileWorker(lambda: Client(url), requests // 20 if hostile is None else hostile,
                             seed, victim)
    t0 = time.perf_counter()
    try:
        for w in [*workers, attacker]:
            w.start()
        for w in [*workers, attacker]:
            w.join()
    finally:
        wall = time.perf_counter() - t0
        stop_server(proc)
    created = [i for w in workers for i in w.ledger.created]
    deleted = {i for w in workers for i in w.ledger.deleted}
    records = store.list(limit=10**9)
    ids = [r.id for r in records]
    expected = before | (set(created) - deleted)
    counts = Counter(ids)
    shas = Counter(r.sha256 for r in records)
    kinds = sorted({k for w in workers for k in w.times})
    per_kind = {}
    for kind in kinds:
        xs = [t for w in workers for t in w.times[kind]]
        st: Counter = sum((w.status[kind] for w in workers), Counter())
        per_kind[kind] = {"n": len(xs), **{f"{s // 100}xx": st[s] for s in sorted(st)},
                          "ms": _ms(xs)}
        refused = [r for w in workers for r in w.refusals[kind]][:3]
        if refused:
            per_kind[kind]["4xx_samples"] = refused
    failures = [f for w in workers for f in w.failures]
    integrity = store.integrity_report()
    return {
        "clients": clients, "requests": sum(len(w.times[k]) for w in workers for k in w.times),
        "seconds": round(wall, 1), "requests_per_s": round(requests / wall, 1),
        "server_errors": len(failures), "server_error_samples": failures[:5],
        "items_before": len(before), "items_after": len(ids), "created": len(created),
        "deleted": len(deleted),
        "lost": len(expected - set(ids)), "duplicated": sum(c - 1 for c in counts.values())
        + sum(c - 1 for c in shas.values()), "resurrected": len(deleted & set(ids)),
        "unexpected": len(set(ids) - expected),
        "integrity_ok": integrity["ok"], "integrity": {k: v for k, v in integrity.items()
                                                       if k != "ok"},
        "per_kind": per_kind,
        "hostile": {**attacker.report(), "victim_unchanged":
                    victim is None or store.get(victim).to_dict() == victim_before},
    }


def prepare_home(home: Path | None, into: Path) -> Path:
    """A copy of ``home`` (or a tiny demo) in ``into``: the run adds and deletes items."""
    target = into / "home"
    if home is not None:
        shutil.copytree(home, target, ignore=shutil.ignore_patterns("jobs", "worlds"))
        return target
    from usecases.demo import QUICK, prepare_demo

    prepare_demo(target, closet_items=40, progress=False, echo=lambda _: None, **QUICK)
    return target


def main(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        home = prepare_home(args.home, Path(tmp))
        report = run_load(home, args.clients, args.requests, args.seed, args.hostile)
    report["home"] = str(args.home) if args.home else "tiny demo (temporary)"
    return report


if __name__ == "__main__":
    print(json.dumps(main(get_args_parser().parse_args()), indent=1))
