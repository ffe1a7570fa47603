import pytest

from outfit.errors import OutfitError
from outfit.registry import Registry


def test_register_get_and_list():
    reg: Registry[int] = Registry("widget")
    reg.register("b")(2)
    reg.register("a")(1)
    assert reg.get("a") == 1 and reg.names() == ["a", "b"] and "b" in reg and "c" not in reg


def test_unknown_and_duplicate_names_are_clear_errors():
    reg: Registry[int] = Registry("widget")
    reg.register("a")(1)
    with pytest.raises(OutfitError, match="unknown widget 'z'.*known widgets: a"):
        reg.get("z")
    with pytest.raises(OutfitError, match="widget 'a' is registered twice"):
        reg.register("a")(3)
    assert reg.get("a") == 1  # the first registration stands
