"""The recommender: the best outfits of a closet, with the grader as the value function.

Beam search (Tangseng, Yamaguchi & Okatani, arXiv 1804.09979) over the closet's items one part
per step, the paper's ``partial`` search and an ``exhaustive`` reference; pinned and excluded
items, season and occasion constraints; diverse top-k and re-rolls; a faiss index per slot to
shortlist candidates in large catalogues (:mod:`recommender.retrieval`).
"""

from .problem import Constraints, NoOutfitError, SearchProblem
from .retrieval import SlotIndex
from .search import Complement, Recommendation, complements, search, select_diverse
from .strategies import Candidate, TooManyOutfitsError, count_outfits, list_strategies

__all__ = ["search", "Recommendation", "Constraints", "SearchProblem", "NoOutfitError",
           "Candidate", "TooManyOutfitsError", "count_outfits", "list_strategies",
           "select_diverse", "complements", "Complement", "SlotIndex"]
