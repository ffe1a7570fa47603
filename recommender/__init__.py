"""Beam search over a closet with the grader as value function (not built yet)."""
