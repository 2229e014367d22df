#!/usr/bin/env python3
"""An independent writer of .safetensors files, from the published format alone (numpy, json and
struct; not h5ser, not the safetensors package): an 8-byte little-endian header length, the JSON
header (keys sorted, padded with spaces so the data section starts 8-byte aligned, as the reference
writer does), then the tensors' little-endian bytes in header order.

    write_safetensors.py OUT_DIR

writes OUT_DIR/every_dtype.safetensors (one tensor of each of the 13 dtypes h5ser maps, and
__metadata__), OUT_DIR/dotted_names.safetensors (GPT-2-style names "h.0.attn.c_attn.weight") and
OUT_DIR/expected.json: for each file and tensor its dtype, shape and the xxh3-64 of its bytes,
computed here, so a reader is checked against this writer and not against itself.
"""
import json
import pathlib
import struct
import sys

import numpy as np
import xxhash

# The format's dtype names and numpy's type for the bytes (BF16 as its raw 16 bits).
DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64,
          "I32": np.int32, "I16": np.int16, "I8": np.int8, "U64": np.uint64, "U32": np.uint32,
          "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_}


def tensor_bytes(dtype: str, shape, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    count = int(np.prod(shape)) if shape else 1
    if dtype == "BOOL":
        values = rng.integers(0, 2, size=count).astype(np.bool_)
    elif dtype in ("F64", "F32", "F16"):
        values = rng.standard_normal(count).astype(DTYPES[dtype])
    else:
        info = np.iinfo(DTYPES[dtype])
        values = rng.integers(info.min, info.max, size=count, dtype=DTYPES[dtype], endpoint=True)
    return values.astype(np.dtype(DTYPES[dtype]).newbyteorder("<")).tobytes()


def write(path: pathlib.Path, tensors: dict, metadata: dict = None) -> dict:
    """tensors: name -> (dtype, shape, bytes). Returns name -> expectation."""
    header, data, expected = {}, bytearray(), {}
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        expected[name] = {"dtype": dtype, "shape": list(shape), "xxh3": xxhash.xxh3_64(raw).hexdigest(), "bytes": len(raw)}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    text += b" " * (-(8 + len(text)) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + bytes(data))
    return expected


def main() -> int:
    return main_into(sys.argv[1])


def main_into(directory: str) -> int:
    out = pathlib.Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    shapes = [(3, 5), (7,), (2, 3, 4), (), (0, 4), (5, 1), (1,), (4, 4), (3,), (2, 2, 2), (9,), (6, 2), (11,)]
    every = {f"t_{d.lower()}": (d, shapes[i], tensor_bytes(d, shapes[i], i)) for i, d in enumerate(DTYPES)}
    expected = {"every_dtype.safetensors": write(out / "every_dtype.safetensors", every, {"format": "pt", "note": "héllo"})}
    dotted = {}
    for layer in range(2):
        for part, shape in (("attn.c_attn.weight", (8, 24)), ("attn.c_attn.bias", (24,)), ("ln_1.weight", (8,))):
            name = f"h.{layer}.{part}"
            dotted[name] = ("F32", shape, tensor_bytes("F32", shape, 100 + len(dotted)))
    dotted["wte.weight"] = ("F32", (16, 8), tensor_bytes("F32", (16, 8), 99))
    expected["dotted_names.safetensors"] = write(out / "dotted_names.safetensors", dotted)
    (out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
