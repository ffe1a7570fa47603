"""Why an outfit scores as it does: attributions to (item, feature group) pairs, sentences a
person reads, and the swap that would help most.

    from explain import attribute, reasons, suggest
    att = attribute(outfit, model)              # method="gxa" (Tangseng & Okatani 2019)
    print(reasons(att))
    print(suggest(outfit, closet, model))
    att = attribute(outfit, model, noise_averaged(get_method("ig")))  # any method, smoothed
"""

from .attribution import (
    GROUP_WORDS,
    Attribution,
    MethodResult,
    OutfitInput,
    attribute,
    get_method,
    list_methods,
    register_method,
)
from .noise import noise_averaged
from .reference import FeatureReference, feature_reference, reference_from_table
from .suggest import Replacement, Suggestion, suggest
from .text import reasons

__all__ = ["Attribution", "MethodResult", "OutfitInput", "attribute", "list_methods",
           "register_method", "get_method", "noise_averaged", "FeatureReference",
           "feature_reference", "reference_from_table", "GROUP_WORDS", "reasons", "suggest",
           "Suggestion", "Replacement"]
