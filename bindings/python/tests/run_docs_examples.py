"""Runs every ```python block of a Markdown page on its own, as written.

Usage: run_docs_examples.py PAGE
"""
import re
import sys


def main(page):
    with open(page, encoding="utf-8") as markdown:
        blocks = re.findall(r"^```python\n(.*?)^```", markdown.read(), re.S | re.M)
    if not blocks:
        print(f"{page}: no python examples")
        return 1
    for index, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"{page} example {index}", "exec"), {"__name__": "__example__"})
        except Exception as error:  # report which example failed, then fail
            print(f"{page} example {index} failed: {type(error).__name__}: {error}")
            raise
    print(f"{page}: {len(blocks)} examples ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
