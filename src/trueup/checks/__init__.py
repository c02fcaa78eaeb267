"""Drift and reconciliation checks: second nets behind the flows, judged from each system's own side.

Like the flows, a check observes by key, plans pure and applies through ports; its findings go into the
one exception queue. Checks import only `model`, `rules`, `ports` and `errors`.
"""
