"""Assertions shared by the web app's tests."""


def envelope(response, status: int, code: str | None = None) -> dict:
    """The error of an API answer, checked to be the project's envelope with ``status`` (and
    ``code`` when given)."""
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert set(error) >= {"code", "message", "hint"}
    assert error["message"].strip()
    if code is not None:
        assert error["code"] == code
    return error


def upload_closet(client, photo, kinds, *, names=None, sizes=None) -> dict:
    """A closet for a test: one new photo (``photo(size=...)``; ``sizes[n]`` or a size of its
    own) per entry of ``kinds`` (key -> semantic category, None: no kind), uploaded in one
    request, then each item's kind and name (``names[n]``, default the key) set by PATCH
    (a tiny model's auto-tags are not trusted). Returns key -> item id."""
    import io

    keys = list(kinds)
    files = [(io.BytesIO(photo(size=(sizes or {}).get(n, (48 + 4 * k, 48)))), f"{n}.jpg")
             for k, n in enumerate(keys)]
    r = client.post("/api/v1/items", data={"photos": files}, content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    ids = {n: res["item"]["id"] for n, res in zip(keys, r.json["results"], strict=True)}
    for n, kind in kinds.items():
        r = client.patch(f"/api/v1/items/{ids[n]}",
                         json={"semantic_category": kind, "name": (names or {}).get(n, n)})
        assert r.status_code == 200, r.json
    return ids
