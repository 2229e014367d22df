"""Checks the symbols of an object file that only loads: the load walk is there, a save is not.

    check_symbols.py NM OBJECT

A save of the model shows as instantiations of the save walk (save_model, save_step, walk_fields of a
save_mode, the census and the file writer): none may be present. The load entry must be, so that an
object file without h5ser code cannot pass.
"""
import re
import subprocess
import sys

SAVE = re.compile(r"h5ser::detail::(save_model<|save_step<|save_walk_of<|walk_fields<\(h5ser::detail::save_mode\)|"
                  r"file_writer\b|save_census\b|census_sink\b|fingerprint_sink\b)")
LOAD = re.compile(r"h5ser::detail::load_from<")


def main() -> int:
    nm, obj = sys.argv[1], sys.argv[2]
    symbols = subprocess.run([nm, "-C", obj], capture_output=True, text=True, check=True).stdout.splitlines()
    saves = [s for s in symbols if SAVE.search(s)]
    loads = [s for s in symbols if LOAD.search(s)]
    print(f"{len(symbols)} symbols, {len(loads)} of the load entry, {len(saves)} of a save")
    for s in saves[:20]:
        print("  save symbol:", s[:300])
    if not loads:
        print("FAIL: no load_from instantiation: the object file does not load anything")
        return 1
    if saves:
        print("FAIL: a translation unit that only loads compiled a save")
        return 1
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
