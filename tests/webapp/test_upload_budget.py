"""One request of uploads has a decode budget: the files past it are refused, each with its own
error, and the files before it are stored."""

from __future__ import annotations

import io

import closet.photos

MULTI = "multipart/form-data"


def test_the_files_past_a_requests_decode_budget_are_refused(client, store, photo, monkeypatch):
    monkeypatch.setattr(closet.photos, "REQUEST_DECODE_PIXELS", 3 * 64 * 48, raising=False)
    files = [(io.BytesIO(photo(size=(64, 48))), f"p{k}.jpg") for k in range(5)]
    r = client.post("/api/v1/items", data={"photos": files}, content_type=MULTI)
    assert r.status_code == 201, r.json
    results = r.json["results"]
    assert [x["ok"] for x in results] == [True, True, True, False, False]
    assert (r.json["created"], r.json["failed"]) == (3, 2)
    for x in results[3:]:
        assert x["error"]["code"] == "bad_image"
        assert x["error"]["message"].startswith(
            f"{x['file']}: decode budget for this request used up: upload the rest in another "
            "request")
    assert store.count() == 3
    again = client.post("/api/v1/items", data={"photos": [(io.BytesIO(photo()), "p3.jpg")]},
                        content_type=MULTI)  # the next request has a budget of its own
    assert again.status_code == 201 and store.count() == 4
