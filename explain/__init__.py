"""Why an outfit scores as it does: attributions to (item, feature group) pairs, sentences a
person reads, and the swap that would help most.

    from explain import attribute, reasons, suggest
    att = attribute(outfit, model)              # method="gxa" (Tangseng & Okatani 2019)
    print(reasons(att))
    print(suggest(outfit, closet, model))
"""

from .attribution import (
    GROUP_WORDS,
    Attribution,
    MethodResult,
    OutfitInput,
    attribute,
    list_methods,
    register_method,
)
from .reference import FeatureReference, feature_reference, reference_from_table
from .suggest import Replacement, Suggestion, suggest
from .text import reasons

__all__ = ["Attribution", "MethodResult", "OutfitInput", "attribute", "list_methods",
           "register_method", "FeatureReference", "feature_reference", "reference_from_table",
           "GROUP_WORDS", "reasons", "suggest", "Suggestion", "Replacement"]
