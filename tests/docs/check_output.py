"""Checks that output shown in a document is what the program prints.

    check_output.py DOCUMENT NAME -- COMMAND...

The block of DOCUMENT that follows the line `<!-- output: NAME -->` must match COMMAND's standard
output: its lines appear there, in order and contiguous, except that a line `...` (any indentation)
stands for any number of lines, and a note `  <- ...` at the end of a line is the document's, not
the program's. The block may be any part of the output.
"""
import re
import subprocess
import sys


def shown_block(document: str, name: str) -> list[str]:
    lines = open(document, encoding="utf-8").read().splitlines()
    marker = f"<!-- output: {name} -->"
    at = next((i for i, line in enumerate(lines) if line.strip() == marker), None)
    if at is None or at + 1 >= len(lines) or not lines[at + 1].startswith("```"):
        sys.exit(f"FAIL: {document} has no code block after '{marker}'")
    end = next(i for i in range(at + 2, len(lines)) if lines[i].startswith("```"))
    return lines[at + 2:end]


def pattern(block: list[str]) -> str:
    parts = []
    for line in block:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        line = re.sub(r"\s+<- .*$", "", line)
        parts.append(re.escape(line.rstrip()) + r"[ \t]*\n")
    return "".join(parts)


def compare(document: str, name: str, program: str, output: str) -> int:
    """0 when the block after `<!-- output: NAME -->` is in `output` (what `program` printed)."""
    block = shown_block(document, name)
    if re.search(pattern(block), output if output.endswith("\n") else output + "\n"):
        print(f"{document} shows what '{program}' prints ({len(block)} lines)")
        print("1 passed, 0 failed")
        return 0
    print(f"FAIL: the block after <!-- output: {name} --> in {document} is not in the output of {program}")
    print("--- shown:\n" + "\n".join(block) + "\n--- printed:\n" + output)
    return 1


def main() -> int:
    document, name = sys.argv[1], sys.argv[2]
    command = sys.argv[sys.argv.index("--") + 1:]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return compare(document, name, " ".join(command), output)


if __name__ == "__main__":
    sys.exit(main())
