"""A small seed of the chaos run on each backend: every fault of `make chaos`, and not one duplicate or loss."""

from __future__ import annotations

import pytest

from chaos.figures import table
from chaos.scenario import RunOptions, run


@pytest.mark.parametrize(("backend", "posts", "seed"), [("fakes", 60, 7), ("stack", 15, 11)])
def test_a_small_chaos_run_has_no_duplicate_and_loses_nothing(backend: str, posts: int, seed: int) -> None:
    figures = run(RunOptions(posts=posts, seed=seed, backend=backend, max_steps=5_000))
    report = table(figures)
    assert not figures.timed_out, report
    assert (figures.duplicates, figures.lost) == (0, 0), report
    published = sum(p.states.get("published", 0) for p in figures.per_platform.values())
    assert published == posts, report
