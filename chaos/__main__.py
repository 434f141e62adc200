"""python -m chaos --posts N --seed S --backend fakes|stack: prints the figures; exit 1 on a duplicate or loss."""

from __future__ import annotations

import argparse
import logging
import sys

from chaos.figures import table
from chaos.scenario import RunOptions, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20210417)
    parser.add_argument("--backend", choices=("fakes", "stack"), default="fakes")
    parser.add_argument("--max-steps", type=int, default=30_000)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the run logs every retry it provokes; the figures are what matter
    print(f"chaos: backend {args.backend}, {args.posts} posts, seed {args.seed}", flush=True)
    figures = run(RunOptions(posts=args.posts, seed=args.seed, backend=args.backend, max_steps=args.max_steps))
    print(table(figures), flush=True)
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
