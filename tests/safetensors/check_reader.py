#!/usr/bin/env python3
"""h5ser's safetensors header parser against an independent writer (write_safetensors.py): every
tensor of every dtype is found with its name, dtype and shape, and the bytes at the offsets h5ser
computes are the bytes the writer wrote (xxh3-64, computed by the writer); __metadata__ is kept.

    check_reader.py READ_SAFETENSORS
"""
import json
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import write_safetensors  # noqa: E402

H5SER_DTYPE = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64", "I32": "int32",
               "I16": "int16", "I8": "int8", "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool"}


def main() -> int:
    reader = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        write_safetensors.main_into(tmp)
        expected = json.loads(pathlib.Path(tmp, "expected.json").read_text())
        for name, tensors in sorted(expected.items()):
            run = subprocess.run([reader, str(pathlib.Path(tmp, name))], capture_output=True, text=True, check=True)
            lines = [json.loads(line) for line in run.stdout.splitlines()]
            found = {l["name"]: l for l in lines if "name" in l}
            problems = []
            if sorted(found) != sorted(tensors):
                problems.append(f"tensors {sorted(found)} instead of {sorted(tensors)}")
            for tensor, want in tensors.items():
                got = found.get(tensor)
                if got and (got["file_dtype"] != want["dtype"] or got["dtype"] != H5SER_DTYPE[want["dtype"]] or
                            got["shape"] != want["shape"] or got["xxh3"] != want["xxh3"] or got["bytes"] != want["bytes"]):
                    problems.append(f"{tensor}: read {got}, written {want}")
            if name == "every_dtype.safetensors":
                metadata = {l["metadata"]: l["value"] for l in lines if "metadata" in l}
                if metadata != {"format": "pt", "note": "héllo"}:
                    problems.append(f"__metadata__ read as {metadata}")
            for p in problems:
                print(f"FAIL {name}: {p}")
            if not problems:
                print(f"ok   {name}: {len(tensors)} tensors, dtypes {sorted({t['dtype'] for t in tensors.values()})}, bytes as written")
            failures += bool(problems)
    print(f"{len(expected) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
