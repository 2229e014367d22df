"""Runs a documentation snippet's program (tests/docs/extract_snippets.py) as a reader would.

    run_snippet.py PROGRAM [DOCUMENT NAME]

The program runs in a new empty directory, so everything it reads it (or its hidden setup) must
write first. It must exit with status 0. With DOCUMENT and NAME, its standard output must match the
block after `<!-- output: NAME -->` in DOCUMENT, by check_output.py's rule.
"""
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from check_output import compare  # noqa: E402


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
    return compare(sys.argv[2], sys.argv[3], program, run.stdout)


if __name__ == "__main__":
    sys.exit(main())
