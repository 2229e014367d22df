"""Runs a documentation snippet's program (tests/docs/extract_snippets.py) as a reader would.

    run_snippet.py PROGRAM [DOCUMENT NAME]

The program runs in a new empty directory, so everything it reads it (or its hidden setup) must
write first. It must exit with status 0. With DOCUMENT and NAME, its standard output must match the
block after `<!-- output: NAME -->` in DOCUMENT, by check_output.py's rule.
"""
import pathlib
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from check_output import pattern, shown_block  # noqa: E402


def main() -> int:
    program = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="h5ser-snippet-") as work:
        run = subprocess.run([program], cwd=work, capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        print(f"FAIL: {program} exited with {run.returncode}\n--- stdout:\n{run.stdout}--- stderr:\n{run.stderr}")
        return 1
    if len(sys.argv) < 4:
        print(f"{program} ran\n1 passed, 0 failed")
        return 0
    document, name = sys.argv[2], sys.argv[3]
    block = shown_block(document, name)
    output = run.stdout if run.stdout.endswith("\n") else run.stdout + "\n"
    if re.search(pattern(block), output):
        print(f"{document} shows what {program} prints ({len(block)} lines)\n1 passed, 0 failed")
        return 0
    print(f"FAIL: the block after <!-- output: {name} --> in {document} is not what {program} prints")
    print("--- shown:\n" + "\n".join(block) + "\n--- printed:\n" + run.stdout)
    return 1


if __name__ == "__main__":
    sys.exit(main())
