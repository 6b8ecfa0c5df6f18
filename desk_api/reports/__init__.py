"""Accuracy reports for analysts: how well the assistant understands, on the held-out data and
on real traffic, and what the traffic looks like (containment, fallback, hand-offs, CSAT,
unanswered questions). ``service.build`` assembles one report; ``render`` makes it HTML or PDF.

Modules: ``filters`` (what is asked), ``queries`` (SQL aggregates), ``metrics`` (pure
arithmetic), ``clustering`` (unanswered questions by meaning), ``charts`` (SVG), ``render``.
"""
