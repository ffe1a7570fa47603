"""Faults: the server killed in the middle of uploads, a disk that fills up (the photo folder or
the database), stray files after a crash found and moved aside by `outfit check --repair`, and
training killed in the middle of saving its checkpoint. Each time nothing stored is lost or
half-written, and what went wrong is said in a sentence."""

from __future__ import annotations

import errno
import http.client
import http.cookiejar
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from web_kit import envelope, upload_closet

import closet.photos
import closet.schema
from closet.store import Store
from outfit_cli import cli
from tests.webapp.conftest import make_photo

OUTFIT = Path(sys.executable).with_name("outfit")


def _files(store: Store) -> set[str]:
    return {f"{d.name}/{p.name}" for d in (store.photos_dir, store.thumbs_dir) for p in d.iterdir()}


def _upload(client, n: int = 1):
    files = [(io.BytesIO(make_photo()), f"photo{k}.jpg") for k in range(n)]
    return client.post("/api/v1/items", data={"photos": files}, content_type="multipart/form-data")


# ------------------------------------------------------------------------------- a full disk
def test_a_full_disk_refuses_the_photo_and_changes_nothing(client, store, add_items, monkeypatch):
    add_items(2)
    before, files, rows = store.count(), _files(store), store.list()

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(closet.photos, "atomic_write_bytes", full)
    err = envelope(_upload(client), 507, "storage_full")
    assert "disk is full" in err["message"] and "free some disk space" in err["hint"]
    assert str(store.folder) not in err["message"]  # no server path in the sentence
    assert store.count() == before and _files(store) == files and store.list() == rows
    monkeypatch.undo()
    assert _upload(client).status_code == 201  # space again: uploads work again


class _FullDatabase:
    """A connection whose writes to ``items`` fail as SQLite fails on a full disk
    (SQLITE_FULL, "database or disk is full"); everything else goes to the real connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args):
        if re.match(r"\s*(INSERT INTO|UPDATE) items\b", sql):
            exc = sqlite3.OperationalError("database or disk is full")
            exc.sqlite_errorcode = 13
            raise exc
        return self._conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def test_a_full_database_refuses_writes_and_leaves_no_file(client, store, add_items, monkeypatch):
    (item,) = add_items(1)
    before, files, rows = store.count(), _files(store), store.list()
    real = closet.schema.connect
    monkeypatch.setattr(closet.schema, "connect", lambda *a, **k: _FullDatabase(real(*a, **k)))
    err = envelope(_upload(client), 507, "storage_full")
    assert "disk is full" in err["message"]
    assert store.count() == before and _files(store) == files  # the photo written was removed
    err = envelope(client.patch(f"/api/v1/items/{item['id']}", json={"color": "red"}), 507,
                   "storage_full")
    monkeypatch.undo()
    assert store.list() == rows and store.integrity_report()["ok"]


# ------------------------------------------------------------------- killed during uploads
def _serve(home: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([str(OUTFIT), "serve", "--home", str(home), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        m = re.search(r"(http://\S+/)", line)
        if m:
            return proc, m.group(1)
    raise AssertionError(f"the server did not start: {proc.stderr.read()}")


class _Browser:
    """Cookies and the CSRF token of a page, as a browser tab has them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with self.opener.open(url, timeout=30) as r:
            page = r.read().decode()
        self.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def upload(self, k: int) -> str:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photos\"; "
                f"filename=\"p{k}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() \
            + make_photo(size=(320, 240)) + f"\r\n--{boundary}--\r\n".encode()
        req = urllib.request.Request(self.url + "api/v1/items", data=body, method="POST", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "X-CSRFToken": self.token})
        with self.opener.open(req, timeout=30) as r:
            return json.loads(r.read())["results"][0]["item"]["id"]


@pytest.mark.slow
def test_a_server_killed_during_uploads_keeps_every_answered_upload(tmp_path):
    home = tmp_path / "home"
    proc, url = _serve(home)
    created: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def uploader(t: int) -> None:
        k = 0
        browser = _Browser(url)
        while not stop.is_set():
            try:
                item = browser.upload(t * 10_000 + k)
            except (OSError, http.client.HTTPException):
                # the server is gone, or its answer was cut off (IncompleteRead): not answered
                return
            with lock:
                created.append(item)
            k += 1

    threads = [threading.Thread(target=uploader, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(created) < 12 and time.monotonic() < deadline:  # well into the uploads
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stop.set()
    for t in threads:
        t.join(30)
    proc.stdout.close()
    proc.stderr.close()
    assert len(created) >= 12

    store = Store(home)
    report = store.integrity_report()
    assert report["integrity_check"] == ["ok"] and report["foreign_key_errors"] == 0
    assert report["missing_photos"] == [] and report["missing_thumbs"] == []
    ids = {r.id for r in store.list()}
    assert set(created) <= ids  # every upload that was answered 201 is there
    assert len(ids) <= len(created) + 4  # at most one unanswered upload per client went in

    # Restarted, the server serves the closet and says whether a crash left stray files.
    proc, url = _serve(home)
    try:
        with urllib.request.urlopen(url + "api/v1/items?limit=200", timeout=30) as r:
            listed = {it["id"] for it in json.loads(r.read())["items"]}
        assert listed == ids
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert ("stray file" in err) == bool(report["orphan_files"])
    # `outfit check --repair` moves the stray files aside; the closet is then consistent.
    result = CliRunner().invoke(cli, ["check", "--home", str(home), "--repair", "--min-age",
                                      "0", "--json"])
    assert result.exit_code == 0, result.output
    moved = json.loads(result.output)
    assert sorted(moved["moved"]) == report["orphan_files"] and moved["ok"] is True
    assert Store(home).integrity_report()["ok"]


# ------------------------------------------------------------------------ outfit check
def test_check_finds_stray_files_and_repair_moves_them_aside(app, store, add_items):
    items = add_items(2)
    stray = store.photos_dir / "zzzzzzzzzzzzzzzzzzzz.jpg"
    stray.write_bytes(b"left by a crash")
    tmp_left = store.thumbs_dir / ".abc.jpg.x1y2.tmp"
    tmp_left.write_bytes(b"half a thumbnail")
    runner = CliRunner()
    r = runner.invoke(cli, ["check", "--home", str(store.folder)])
    assert r.exit_code == 1 and "stray files    2" in r.output and "--repair" in r.output
    young = runner.invoke(cli, ["check", "--home", str(store.folder), "--repair", "--json"])
    assert young.exit_code == 1  # too young to be stray for sure: left where they are
    assert sorted(json.loads(young.output)["kept_young"]) == [
        "images/zzzzzzzzzzzzzzzzzzzz.jpg", "thumbs/.abc.jpg.x1y2.tmp"]
    old = time.time() - 3600
    for p in (stray, tmp_left):
        os.utime(p, (old, old))
    r = runner.invoke(cli, ["check", "--home", str(store.folder), "--repair"])
    assert r.exit_code == 0, r.output
    found = list((store.folder / "lost+found").rglob("*"))
    assert {p.read_bytes() for p in found if p.is_file()} == {b"left by a crash",
                                                              b"half a thumbnail"}
    assert store.count() == 2 and {i["id"] for i in items} == {r.id for r in store.list()}
    assert runner.invoke(cli, ["check", "--home", str(store.folder)]).exit_code == 0


def test_check_refuses_a_folder_without_a_closet(tmp_path):
    r = CliRunner().invoke(cli, ["check", "--home", str(tmp_path)])
    assert r.exit_code != 0 and "no closet" in r.output


# ---------------------------------------------------------- training killed while saving
_SAVER = textwrap.dedent("""
    import os, sys, time
    import data.fileio as fileio
    from grader.checkpoint import load_checkpoint, save_checkpoint

    real_fdopen = os.fdopen

    class Slow:
        def __init__(self, fh): self.fh = fh
        def write(self, data):  # half the bytes, then stall until killed
            self.fh.write(data[: len(data) // 2]); self.fh.flush()
            print("HALF", flush=True)
            time.sleep(600)
        def __getattr__(self, name): return getattr(self.fh, name)
        def __enter__(self): return self
        def __exit__(self, *a): return self.fh.__exit__(*a)

    fileio.os.fdopen = lambda *a, **k: Slow(real_fdopen(*a, **k))
    ckpt = load_checkpoint(sys.argv[1])
    ckpt["metrics"] = {"valid_auc": -1.0}
    save_checkpoint(sys.argv[1] + "/model.pt", ckpt)
""")


@pytest.mark.slow
def test_training_killed_while_saving_leaves_the_previous_model(tiny_model, tmp_path):
    import shutil

    from grader.api import load_model

    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    before = (folder / "model.pt").read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(folder)], stdout=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parents[2])
    assert proc.stdout.readline().strip() == "HALF"  # the new file is half written
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert (folder / "model.pt").read_bytes() == before
    model = load_model(folder)  # the previous model, whole
    assert model.meta["metrics"]["valid_auc"] != -1.0


# ------------------------------------------------- deletions racing with long requests
def test_an_export_leaves_out_an_item_deleted_while_it_runs(client, store, add_items,
                                                            monkeypatch, tmp_path):
    import closet.archive as archive

    items = [i["id"] for i in add_items(4)]
    victim = items[1]
    real = archive._record

    def delete_once_copied(row):  # the database copy is made; now another request deletes
        record = real(row)
        if record.id == victim and store.count() == 4:
            store.delete(victim)
        return record

    monkeypatch.setattr(archive, "_record", delete_once_copied)
    with client.get("/api/v1/closet/export") as r:  # closed: it streams from an open file
        assert r.status_code == 200 and r.headers["X-Closet-Items"] == "3"
        assert r.headers["X-Closet-Left-Out"] == ""  # deleted, not missing: nothing to report
        (tmp_path / "c.zip").write_bytes(r.data)
    monkeypatch.undo()
    other = Store(tmp_path / "other")
    report = other.import_zip(tmp_path / "c.zip")
    assert sorted(report.added) == sorted(i for i in items if i != victim)
    assert other.integrity_report()["ok"]


def test_features_of_an_item_deleted_meanwhile_are_not_kept(store, add_items):
    a, b = (i["id"] for i in add_items(2))
    store.delete(b)
    import numpy as np

    store.put_features("m", {a: np.ones(3), b: np.ones(3)}, skip_missing=True)
    assert set(store.features("m", [a, b], skip_missing=True)) == {a}
    with pytest.raises(Exception, match="no item"):
        store.put_features("m", {b: np.ones(3)})


def test_recommend_and_explain_go_on_when_an_item_is_deleted_meanwhile(mclient, model_app,
                                                                      monkeypatch):
    import usecases.explain_outfit as builder
    import usecases.recommend_outfits as recommend

    ids = upload_closet(mclient, make_photo, {"top": "tops", "top2": "tops", "bottom": "bottoms",
                            "shoes": "shoes", "gone": "tops"})
    svc = model_app.extensions["outfit"]
    stale = builder.closet_items(svc)  # the closet as a request read it...
    svc.store.delete(ids["gone"])  # ...before another request deleted an item (and its photo)
    reads = []

    def closet_once_stale(s):
        reads.append(1)
        return stale if len(reads) == 1 else builder.closet_items(s)

    monkeypatch.setattr(recommend, "closet_items", closet_once_stale)
    r = mclient.post("/api/v1/recommend", json={"k": 3})
    assert r.status_code == 200, r.json
    assert len(reads) == 2  # its photo could not be read: the closet was read again
    assert all(it["id"] != ids["gone"] for rec in r.json["recommendations"] for it in rec["items"])

    real_items = builder._items
    calls = []

    def items_once_stale(s, outfit):
        calls.append(1)
        items, _, wash = real_items(s, outfit)
        return (items, list(stale[0].values()), wash) if len(calls) == 1 else real_items(s, outfit)

    monkeypatch.setattr(builder, "_items", items_once_stale)
    outfit = [ids["top"], ids["bottom"], ids["shoes"]]
    r = mclient.post("/api/v1/explain", json={"items": outfit})
    assert r.status_code == 200, r.json
    assert len(calls) == 2 and [it["id"] for it in r.json["items"]] == outfit
