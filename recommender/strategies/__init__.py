"""Search strategies, by name: ``beam``, ``partial`` (the paper's) and ``exhaustive``.

Each takes a :class:`~recommender.problem.SearchProblem` and a scorer (rows -> logits) and
returns a pool of complete outfits (:class:`Candidate`), best first. Outfits are built per main
shape (outer+upper+lower, upper+lower, outer+full, full), then shoes, then up to three
accessories, one part per step, as in Tangseng et al. (arXiv 1804.09979). Building each shape
on its own beam keeps a one-piece from competing with half an outfit (a lone top), which a
single beam with a "none" choice for every main slot would have to do. Accessories may be added
in any order; a set reached twice is graded once.

The pieces: :mod:`.registry` (:class:`Candidate`, the registry by name, each strategy's
options), :mod:`.steps` (the partial outfits and the steps that extend them, shared by all),
:mod:`.beam` (``beam``), :mod:`.refine` (the hill climbing that improves beam search's best
outfits) and :mod:`.enumeration` (``exhaustive``, ``partial`` and :func:`count_outfits`).
"""

from __future__ import annotations

# imported in the order the strategies register: beam, exhaustive, partial
from .beam import beam_search
from .enumeration import TooManyOutfitsError, count_outfits, exhaustive_search, partial_search
from .registry import (
    Candidate,
    Shortlist,
    check_strategy_options,
    get_strategy,
    list_strategies,
    register_strategy,
    strategy_options,
)
from .steps import WIDTH

__all__ = ["Candidate", "register_strategy", "get_strategy", "list_strategies", "strategy_options",
           "check_strategy_options",
           "count_outfits", "TooManyOutfitsError", "WIDTH", "Shortlist",
           "beam_search", "exhaustive_search", "partial_search"]
