"""`python -m beancount_adjustments.demo`: the demo ledger on stdout or in a file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from beancount_adjustments.demo.ledger import generate_ledger, write_ledger
from beancount_adjustments.writer.target import os_refusal


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m beancount_adjustments.demo",
        description="A deterministic demo ledger: a small subscription business with adjustments.")
    parser.add_argument("--transactions", type=int, default=3000,
                        help="about how many transactions (default 3000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--months", type=int, default=11, help="months covered (default 11)")
    parser.add_argument("-o", "--output", default="-", help="file to write ('-': stdout)")
    args = parser.parse_args(argv)
    if args.output == "-":
        print(generate_ledger(transactions=args.transactions, seed=args.seed,
                              months=args.months), end="")
        return 0
    try:
        write_ledger(args.output, transactions=args.transactions, seed=args.seed,
                     months=args.months)
    except OSError as exc:
        for refusal in os_refusal(Path(args.output), exc, "write").refusals:
            print(f"{parser.prog}: error: {refusal}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
