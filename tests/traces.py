"""Counting traces without jax's private API.

A jitted program runs its Python only while it is traced; a function it
calls through a module attribute is looked up then. Wrapping that attribute
with a counter (monkeypatch) therefore counts the traces of every program
that calls it, and the compiled programs already cached are reused, since
the jitted function itself is unchanged.
"""

from __future__ import annotations


def trace_counter(monkeypatch, owner, name: str) -> list:
    """A list that grows by one whenever ``owner.name`` runs (under jit: at
    every trace of a program that calls it)."""
    calls = []
    orig = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return orig(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls
