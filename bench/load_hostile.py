"""The hostile client of the load benchmark (bench/load.py): requests an attacker would send,
mixed in with the honest clients' load, each with the one refusal it must get.

  foreign_read    GET   /api/v1/closet/export with Host: rebind.attacker.example  -> 400
  foreign_write   PATCH /api/v1/items/<victim> with a foreign Host               -> 400
  foreign_static  GET   /static/style.css with a foreign Host                    -> 400
  oversized       POST  /api/v1/items, a body past the request limit (26 MiB)    -> 413
  not_a_photo     POST  /api/v1/items, a file that is no image                   -> 400
  pixel_bomb      POST  /api/v1/items, a PNG whose header claims 30 MP           -> 400
  not_a_zip       POST  /api/v1/closet/import, random bytes                      -> 400
  zip_bomb        POST  /api/v1/closet/import, a 20 MiB photo deflated to ~20 KB -> 400
  bad_database    POST  /api/v1/closet/import, a closet.db of random bytes       -> 400

The victim is an item that was in the closet before the run (the honest clients touch only
items they made): it must come out of the run exactly as it went in.
"""

from __future__ import annotations

import http.client
import io
import json
import random
import struct
import threading
import uuid
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable

FOREIGN = "rebind.attacker.example"

HOSTILE_KINDS: dict[str, float] = {
    "foreign_read": 0.15, "foreign_write": 0.15, "foreign_static": 0.1, "oversized": 0.04,
    "not_a_photo": 0.14, "pixel_bomb": 0.14, "not_a_zip": 0.1, "zip_bomb": 0.08,
    "bad_database": 0.1}
"""Share of each kind of hostile request."""

EXPECTED: dict[str, tuple[int, str | None]] = {
    "foreign_read": (400, "host_not_allowed"), "foreign_write": (400, "host_not_allowed"),
    "foreign_static": (400, None), "oversized": (413, "too_large"),
    "not_a_photo": (400, "bad_image"), "pixel_bomb": (400, "bad_image"),
    "not_a_zip": (400, None), "zip_bomb": (400, None), "bad_database": (400, None)}
"""The status (and the error code, where the API gives one) each kind must be refused with."""


def _png_header(width: int, height: int) -> bytes:
    """A PNG that is only a signature and a header chunk claiming ``width`` x ``height``."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", zlib.crc32(chunk[4:]))


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _manifest(item_id: str, data: bytes) -> bytes:
    import hashlib

    return json.dumps({"format": "outfit-closet", "version": 1,
                       "items": {item_id: hashlib.sha256(data).hexdigest()}}).encode()


def _multipart(field: str, name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode() \
        + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class HostileWorker(threading.Thread):
    """Sends ``n`` hostile requests through ``client_factory()`` (a load.Client: cookie and
    CSRF token like a browser tab, so that each refusal is for what the request carries)."""

    def __init__(self, client_factory: Callable[[], object], n: int, seed: int,
                 victim: str | None) -> None:
        super().__init__(name="hostile", daemon=True)
        self.client_factory, self.n, self.victim = client_factory, n, victim
        self.rng = random.Random(seed * 7919 + 1)
        self.sent: Counter = Counter()
        self.right: Counter = Counter()
        self.wrong: dict[str, list[str]] = defaultdict(list)
        bomb_photo = bytes(20 * 2**20)
        self.bomb_zip = _zip({"manifest.json": _manifest("abcdefabcdef", bomb_photo),
                              "closet.db": b"", "photos/abcdefabcdef.jpg": bomb_photo})

    def run(self) -> None:
        client = self.client_factory()
        kinds, weights = list(HOSTILE_KINDS), list(HOSTILE_KINDS.values())
        try:
            for _ in range(self.n):
                kind = self.rng.choices(kinds, weights)[0]
                if kind == "foreign_write" and self.victim is None:
                    kind = "foreign_read"
                try:
                    status, body = self.one(client, kind)
                except (OSError, http.client.HTTPException) as exc:
                    status, body = 599, str(exc).encode()
                self.sent[kind] += 1
                if self._as_expected(kind, status, body):
                    self.right[kind] += 1
                elif len(self.wrong[kind]) < 3:
                    self.wrong[kind].append(f"{status} {body[:200]!r}")
        finally:
            client.close()  # type: ignore[attr-defined]

    @staticmethod
    def _as_expected(kind: str, status: int, body: bytes) -> bool:
        want_status, want_code = EXPECTED[kind]
        if status != want_status:
            return False
        if want_code is None:
            return True
        try:
            doc = json.loads(body)
        except ValueError:
            return False
        codes = {doc.get("error", {}).get("code")}
        codes |= {r.get("error", {}).get("code") for r in doc.get("results", [])}
        return want_code in codes

    def one(self, c, kind: str) -> tuple[int, bytes]:  # noqa: ANN001 - a load.Client
        foreign = {"Host": FOREIGN}
        if kind == "foreign_read":
            status, _, body = c.request("GET", "/api/v1/closet/export", headers=foreign)
        elif kind == "foreign_write":
            status, _, body = c.request("PATCH", f"/api/v1/items/{self.victim}",
                                        json.dumps({"name": "taken", "color": "red"}).encode(),
                                        {**foreign, "Content-Type": "application/json"})
        elif kind == "foreign_static":
            status, _, body = c.request("GET", "/static/style.css", headers=foreign)
        elif kind == "oversized":
            status, body = self._upload(c, "photos", "huge.jpg", bytes(26 * 2**20))
        elif kind == "not_a_photo":
            status, body = self._upload(c, "photos", "notes.jpg",
                                        self.rng.randbytes(2000))
        elif kind == "pixel_bomb":
            status, body = self._upload(c, "photos", "bomb.png", _png_header(6000, 5000))
        elif kind == "not_a_zip":
            status, body = self._upload(c, "archive", "closet.zip", self.rng.randbytes(5000))
        elif kind == "zip_bomb":
            status, body = self._upload(c, "archive", "closet.zip", self.bomb_zip)
        elif kind == "bad_database":
            photo = b"\xff\xd8\xff" + self.rng.randbytes(100)
            data = _zip({"manifest.json": _manifest("abcdefabcdef", photo),
                         "closet.db": self.rng.randbytes(8192),
                         "photos/abcdefabcdef.jpg": photo})
            status, body = self._upload(c, "archive", "closet.zip", data)
        else:
            raise ValueError(kind)
        return status, body

    @staticmethod
    def _upload(c, field: str, name: str, data: bytes) -> tuple[int, bytes]:  # noqa: ANN001
        path = "/api/v1/items" if field == "photos" else "/api/v1/closet/import"
        body, content_type = _multipart(field, name, data)
        status, _, answer = c.request("POST", path, body, {"Content-Type": content_type})
        return status, answer

    def report(self) -> dict:
        per_kind = {k: {"n": self.sent[k], "refused_correctly": self.right[k],
                        **({"wrong_samples": self.wrong[k]} if self.wrong[k] else {})}
                    for k in sorted(self.sent)}
        return {"sent": sum(self.sent.values()), "refused_correctly": sum(self.right.values()),
                "per_kind": per_kind}
