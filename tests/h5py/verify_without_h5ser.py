"""An independent verifier of h5ser files, written from docs/format.md alone (h5py and the Python
xxhash module, no h5ser code): the seal, every dataset's checksum and the fingerprint of files
h5ser wrote must check out, and damaged copies must be refused where the format says they are.

usage: verify_without_h5ser.py WRITE_FOR_H5PY WRITE_STORAGE_FOR_H5PY
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import h5py
import xxhash

MAGIC = b"h5ser seal v1\0\0\0"


class Refused(Exception):
    pass


def check_seal(data):
    """docs/format.md, "Seal": returns the data ranges; raises Refused when the seal does not hold."""
    if data[:16] != MAGIC:
        raise Refused("no seal")
    userblock, size, count, metadata_hash, own_hash = struct.unpack_from("<QQQQQ", data, 16)
    if userblock < 512 or userblock & (userblock - 1) or userblock > len(data) or count > (userblock - 64) // 16:
        raise Refused("inconsistent seal header")
    if size != len(data):
        raise Refused(f"file size {len(data)}, seal says {size}")
    if xxhash.xxh3_64_intdigest(data[:48] + data[64:64 + 16 * count]) != own_hash:
        raise Refused("the seal's own checksum differs")
    ranges = [struct.unpack_from("<QQ", data, 64 + 16 * i) for i in range(count)]
    h = xxhash.xxh3_64()
    at = userblock
    for offset, length in ranges:
        if offset < at or length > size - offset:
            raise Refused("inconsistent range table")
        h.update(data[at:offset])
        at = offset + length
    h.update(data[at:size])
    if h.intdigest() != metadata_hash:
        raise Refused("the HDF5 metadata changed")
    return ranges


def dtype_name(ds):
    t = ds.dtype
    if t.kind == "b":
        return "bool"
    if t.kind == "V" and t.itemsize == 2:
        marker = ds.attrs.get("dtype")
        if marker in ("bfloat16", b"bfloat16"):
            return "bfloat16"
    if t.kind in "fiu":
        return {"f": "float", "i": "int", "u": "uint"}[t.kind] + str(8 * t.itemsize)
    raise Refused(f"{ds.name}: dtype {t} is not one of h5ser's")


def in_creation_order(group):
    """Link names of a group in creation order (h5py lists the root group by name)."""
    names = []
    group.id.links.iterate(lambda name: names.append(name.decode()), idx_type=h5py.h5.INDEX_CRT_ORDER)
    return names


def datasets(group):
    for name in in_creation_order(group):
        child = group[name]
        if isinstance(child, h5py.Group):
            yield from datasets(child)
        else:
            yield child


def verify(path):
    """Raises Refused on the first problem; returns the number of datasets checked."""
    with open(path, "rb") as f:
        check_seal(f.read())
    with h5py.File(path, "r") as f:
        if f.attrs.get("h5ser_format_version") != 1:
            raise Refused("not format version 1")
        if f.attrs.get("h5ser_mode") not in ("full_model", "weights_only"):
            raise Refused("unknown mode")
        fingerprint = xxhash.xxh3_64()
        n = 0
        for ds in datasets(f):
            data = ds[()]
            element_bytes = data.tobytes() if hasattr(data, "tobytes") else bytes(data)
            digest = xxhash.xxh3_64_intdigest(element_bytes)
            if ds.attrs.get("h5ser_checksum") != f"xxh3-64:{digest:016x}":
                raise Refused(f"{ds.name}: checksum mismatch")
            dtype = dtype_name(ds)
            fingerprint.update(ds.name.encode() + b"\0" + dtype.encode() + b"\0")
            fingerprint.update(struct.pack("<Q", len(ds.shape)))
            for d in ds.shape:
                fingerprint.update(struct.pack("<Q", d))
            fingerprint.update(struct.pack("<Q", digest))
            n += 1
        if f.attrs.get("fingerprint") != fingerprint.hexdigest():
            raise Refused(f"fingerprint {f.attrs.get('fingerprint')} != {fingerprint.hexdigest()}")
    return n


def main():
    failures = []
    with tempfile.TemporaryDirectory() as d:
        for writer in sys.argv[1:3]:
            subprocess.run([writer, d], check=True)
        files = sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".h5"))
        models = []
        for path in files:  # the writers also make row datasets (h5ser::data_file), which are not sealed
            with h5py.File(path, "r") as f:
                (models if "h5ser_format_version" in f.attrs else []).append(path)
        if len(models) < 8:
            failures.append(f"expected the writers' model files, found {models}")
        for path in models:
            name = os.path.basename(path)
            try:
                n = verify(path)
                print(f"ok: {name}: seal, {n} checksums and the fingerprint")
            except Refused as e:
                failures.append(f"{name}: refused a file h5ser wrote: {e}")
                continue
            with open(path, "rb") as f:
                data = bytearray(f.read())
            ranges = check_seal(bytes(data))
            userblock = struct.unpack_from("<Q", data, 16)[0]
            outside = next(p for p in range(userblock + 100, len(data)) if all(not (o <= p < o + n) for o, n in ranges))
            damaged = os.path.join(d, "damaged-" + name)

            def expect_refused(copy, what, expect):
                with open(damaged, "wb") as f:
                    f.write(copy)
                try:
                    verify(damaged)
                    failures.append(f"{name}: {what} was not refused")
                except Refused as e:
                    if expect not in str(e):
                        failures.append(f"{name}: {what}: refused for '{e}', expected '{expect}'")

            # A flipped byte in the metadata must fail the seal's hash, one in its header the seal.
            for position, expect in [(outside, "the HDF5 metadata changed"), (20, "seal")]:
                copy = bytearray(data)
                copy[position] ^= 0x10
                expect_refused(copy, f"a flipped byte at {position}", expect)
            # A flipped bit in tensor data (outside the seal's hash): its checksum must catch it.
            if ranges:
                offset, length = max(ranges, key=lambda r: r[1])
                copy = bytearray(data)
                copy[offset + length // 2] ^= 0x01
                expect_refused(copy, "a flipped bit in tensor data", "checksum mismatch")
        shutil.rmtree(d, ignore_errors=True)
    for m in failures:
        print("FAIL:", m)
    print(f"verification without h5ser: {'FAILED' if failures else 'passed'} ({len(failures)} failures)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
