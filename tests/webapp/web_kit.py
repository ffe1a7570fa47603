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
