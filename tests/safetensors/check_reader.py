#!/usr/bin/env python3
"""h5ser's safetensors header parser against an independent writer (write_safetensors.py): every
tensor of every dtype is found with its name, dtype and shape, and the bytes at the offsets h5ser
computes are the bytes the writer wrote (xxh3-64, computed by the writer); __metadata__ is kept.
Then both files are loaded into structs with h5ser::load: every field holds its tensor's shape and
exactly the bytes the writer wrote. Last, h5ser saves those structs with h5ser::safetensors::save,
and this script reads the files h5ser wrote with a parser of its own (json and struct): the layout
the format and the reference writer prescribe (an 8-byte length, sorted keys, the data section
8-byte aligned, tensors tiling it) and every tensor with the bytes the independent writer wrote.

    check_reader.py READ_SAFETENSORS
"""
import json
import pathlib
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import write_safetensors  # noqa: E402
import xxhash  # noqa: E402

H5SER_DTYPE = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64", "I32": "int32",
               "I16": "int16", "I8": "int8", "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool"}


def check_written(path: pathlib.Path, tensors: dict) -> list:
    """What is wrong with the .safetensors file h5ser wrote at `path`, which should hold `tensors`
    (the independent writer's expectations) with h5ser's fingerprint in its metadata."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    text = raw[8:8 + n].decode("utf-8")
    header = json.loads(text)
    problems = []
    if (8 + n) % 8:
        problems.append(f"{path.name}: the data section starts at {8 + n}, not 8-byte aligned")
    keys = [k for k in json.loads(text, object_pairs_hook=lambda pairs: [p[0] for p in pairs])]
    if keys != sorted(keys):
        problems.append(f"{path.name}: header keys {keys} are not sorted")
    metadata = header.pop("__metadata__", {})
    if metadata.get("format") != "pt" or len(metadata.get("h5ser.fingerprint", "")) != 16:
        problems.append(f"{path.name}: __metadata__ {metadata}")
    data = raw[8 + n:]
    spans = sorted(tuple(t["data_offsets"]) for t in header.values())
    if spans and (spans[0][0] != 0 or spans[-1][1] != len(data) or any(a[1] != b[0] for a, b in zip(spans, spans[1:]))):
        problems.append(f"{path.name}: the tensors do not tile the data section: {spans}, {len(data)} bytes")
    if sorted(header) != sorted(tensors):
        problems.append(f"{path.name}: tensors {sorted(header)} instead of {sorted(tensors)}")
    for name, want in tensors.items():
        got = header.get(name)
        if not got:
            continue
        begin, end = got["data_offsets"]
        digest = xxhash.xxh3_64(data[begin:end]).hexdigest()
        if got["dtype"] != want["dtype"] or got["shape"] != want["shape"] or digest != want["xxh3"]:
            problems.append(f"{path.name} {name}: written as {got} (xxh3 {digest}), expected {want}")
    return problems


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
        # Loaded into structs: each field as the writer wrote its tensor.
        run = subprocess.run([reader, "--load", str(pathlib.Path(tmp, "every_dtype.safetensors")),
                              str(pathlib.Path(tmp, "dotted_names.safetensors"))], capture_output=True, text=True)
        loaded = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
        problems = [] if run.returncode == 0 else [f"load failed: {run.stdout.strip()} {run.stderr.strip()}"]
        for line in loaded:
            want = expected[line["file"]].get(line["name"])
            if not want or line["dtype"] != H5SER_DTYPE[want["dtype"]] or line["shape"] != want["shape"] or \
                    line["xxh3"] != want["xxh3"] or line["bytes"] != want["bytes"]:
                problems.append(f"{line['file']} {line['name']}: loaded {line}, written {want}")
        if len(loaded) != sum(len(t) for t in expected.values()):
            problems.append(f"{len(loaded)} fields loaded of {sum(len(t) for t in expected.values())} tensors")
        for p in problems:
            print(f"FAIL load: {p}")
        if not problems:
            print(f"ok   load: {len(loaded)} fields of 2 files loaded into structs, bytes as written")
        failures += bool(problems)
        # Saved again by h5ser, read here.
        out = pathlib.Path(tmp, "saved")
        out.mkdir()
        run = subprocess.run([reader, "--save", str(pathlib.Path(tmp, "every_dtype.safetensors")),
                              str(pathlib.Path(tmp, "dotted_names.safetensors")), str(out)], capture_output=True, text=True)
        problems = [] if run.returncode == 0 else [f"save failed: {run.stdout.strip()} {run.stderr.strip()}"]
        for name, tensors in sorted(expected.items()):
            if problems:
                break
            problems += check_written(out / name, tensors)
        for p in problems:
            print(f"FAIL save: {p}")
        if not problems:
            print(f"ok   save: {sum(len(t) for t in expected.values())} tensors saved by h5ser, read back here as written")
        failures += bool(problems)
    print(f"{len(expected) + 2 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
