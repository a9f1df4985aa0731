"""``python -m pitfalls [name ...]``: run demonstrations and print their raw output."""

import sys

from pitfalls import DEMOS, run_demo

for name in sys.argv[1:] or DEMOS:
    print(f"# {name}", run_demo(name), sep="\n")
