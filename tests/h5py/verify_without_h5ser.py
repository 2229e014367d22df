"""An independent verifier of h5ser files, written from docs/format.md alone (h5py and the Python
xxhash module, no h5ser code): the seal, the manifest (format 2; it must describe exactly what
h5py sees), every dataset's checksum and the fingerprint of files h5ser wrote must check out, and
damaged copies must be refused where the format says they are. Format-1 files (FORMAT1_DIR, kept
as test data) are verified by the rules of format 1.

usage: verify_without_h5ser.py WRITE_FOR_H5PY WRITE_STORAGE_FOR_H5PY FORMAT1_DIR
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import h5py
import numpy
import xxhash

MAGIC = b"h5ser seal v1\0\0\0"
MANIFEST_MAGIC = b"h5ser manifest\0\0"
ELEMENT_SIZE = {"float64": 8, "int64": 8, "uint64": 8, "float32": 4, "int32": 4, "uint32": 4, "float16": 2,
                "bfloat16": 2, "int16": 2, "uint16": 2, "int8": 1, "uint8": 1, "bool": 1}
NUMPY_TYPE = {"float64": "<f8", "int64": "<i8", "uint64": "<u8", "float32": "<f4", "int32": "<i4", "uint32": "<u4",
              "float16": "<f2", "int16": "<i2", "uint16": "<u2", "int8": "i1", "uint8": "u1", "bool": "u1", "bfloat16": "<u2"}
RESERVED_ROOT = ("model_type", "schema", "fingerprint")


class Refused(Exception):
    pass


def parse_manifest(m, file_size, userblock):
    """docs/format.md, "Manifest": returns (version, mode, fingerprint, records)."""
    if len(m) < 48 or m[:16] != MANIFEST_MAGIC:
        raise Refused("manifest: no magic")
    if xxhash.xxh3_64_intdigest(m[24:]) != struct.unpack_from("<Q", m, 16)[0]:
        raise Refused("manifest: its checksum differs")
    version, mode, fingerprint, count = struct.unpack_from("<IIQQ", m, 24)
    records = []
    at = 48

    def take(n):
        nonlocal at
        if n > len(m) - at:
            raise Refused("manifest: a record runs past its end")
        at += n
        return m[at - n:at]

    for _ in range(count):
        kind, layout, rank, nfilters, plen, alen, dlen = struct.unpack("<BBBBIII", take(16))
        r = {"kind": {1: "group", 2: "dataset", 3: "attribute"}[kind], "layout": layout,
             "path": take(plen).decode(), "name": take(alen).decode(), "dtype": take(dlen).decode()}
        r["dims"] = list(struct.unpack(f"<{rank}Q", take(8 * rank)))
        r["filters"] = list(struct.unpack(f"<{nfilters}I", take(4 * nfilters)))
        if r["kind"] == "dataset":
            r["offset"], r["length"], r["checksum"] = struct.unpack("<QQQ", take(24))
            if layout == 1 and r["length"] and (r["offset"] < userblock or r["offset"] + r["length"] > file_size):
                raise Refused(f"manifest: {r['path']} lies outside the file")
            if layout == 0:
                r["data"] = take(r["length"])  # a compact dataset's element bytes
        elif r["kind"] == "attribute":
            (n,) = struct.unpack("<Q", take(8))
            r["value"] = take(n)
        records.append(r)
    if at != len(m):
        raise Refused("manifest: bytes after the last record")
    return version, mode, fingerprint, records


def check_seal(data):
    """docs/format.md, "Seal": returns the data ranges and the manifest's bytes (b"" in format 1);
    raises Refused when the seal does not hold."""
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
    (manifest_length,) = struct.unpack_from("<Q", data, 56)
    start = 64 + 16 * count
    if manifest_length > userblock - start:
        raise Refused("the manifest would end past the userblock")
    return ranges, bytes(data[start:start + manifest_length])


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


def decode_value(r):
    """An attribute record's value, as the list of its elements."""
    v, out, at = r["value"], [], 0
    count = r["dims"][0] if r["dims"] else 1
    for _ in range(count):
        if r["dtype"] == "string":
            (n,) = struct.unpack_from("<I", v, at)
            out.append(v[at + 4:at + 4 + n].decode())
            at += 4 + n
        else:
            size = ELEMENT_SIZE[r["dtype"]]
            out.append(v[at:at + size])
            at += size
    if at != len(v):
        raise Refused(f"manifest: the value of {r['path']}:{r['name']} has {len(v) - at} bytes too many")
    return out


def attribute_elements(value, dtype):
    """h5py's value of an attribute, as the list a manifest record decodes to."""
    values = list(value) if isinstance(value, numpy.ndarray) and value.ndim == 1 else [value]
    if dtype == "string":
        return [x.decode() if isinstance(x, bytes) else str(x) for x in values]
    return [numpy.asarray(x).astype(NUMPY_TYPE[dtype]).tobytes() if dtype != "bfloat16" else numpy.asarray(x).tobytes() for x in values]


def walk(group, path, version):
    """What a format-2 manifest lists, in its order, as h5py sees the file."""
    for name in in_creation_order(group):
        child = group[name]
        child_path = f"{path}/{name}" if path != "/" else f"/{name}"
        yield ("group" if isinstance(child, h5py.Group) else "dataset", child_path, child)
        for attr in child.attrs:
            if isinstance(child, h5py.Dataset) and attr in ("dtype", "h5ser_checksum"):
                continue
            yield ("attribute", child_path, (attr, child.attrs[attr]))
        if isinstance(child, h5py.Group):
            yield from walk(child, child_path, version)


def verify(path):
    """Raises Refused on the first problem; returns the number of datasets checked."""
    with open(path, "rb") as f:
        data = f.read()
    _, manifest_bytes = check_seal(data)
    with h5py.File(path, "r") as f:
        version = f.attrs.get("h5ser_format_version")
        if version not in (1, 2):
            raise Refused(f"format version {version}")
        if f.attrs.get("h5ser_mode") not in ("full_model", "weights_only"):
            raise Refused("unknown mode")
        listed = {}
        copies = {}  # compact datasets: the element bytes their manifest records keep
        if version == 2:
            if not manifest_bytes:
                raise Refused("a format-2 file without a manifest")
            userblock = struct.unpack_from("<Q", data, 16)[0]
            m_version, mode, m_fingerprint, records = parse_manifest(manifest_bytes, len(data), userblock)
            if m_version != 2 or ("weights_only" if mode else "full_model") != f.attrs["h5ser_mode"]:
                raise Refused("manifest: version or mode differs from the root attributes")
            if f"{m_fingerprint:016x}" != f.attrs["fingerprint"]:
                raise Refused("manifest: fingerprint differs from the root attribute")
            # The manifest lists exactly what h5py sees below the root, in save order, and the
            # root's attributes that are fields.
            # A checkpoint's step and metric are listed too (format.md; older checkpoints lack them).
            listed_root = {r["name"] for r in records if r["kind"] == "attribute" and r["path"] == "/"}
            expected = [("attribute", "/", (a, f.attrs[a])) for a in f.attrs
                        if not (a.startswith("h5ser_") or a in RESERVED_ROOT)
                        or (a in ("h5ser_checkpoint_step", "h5ser_checkpoint_metric") and a in listed_root)]
            expected += list(walk(f, "/", version))
            seen = [(r["kind"], r["path"]) for r in records]
            if sorted(seen) != sorted((k, p) for k, p, _ in expected):
                raise Refused(f"manifest: lists {seen}, the file holds {[(k, p) for k, p, _ in expected]}")
            by_key = {(r["kind"], r["path"], r["name"]): r for r in records}
            for kind, p, obj in expected:
                if kind == "attribute":
                    name, value = obj
                    r = by_key.get(("attribute", p, name))
                    if r is None or decode_value(r) != attribute_elements(value, r["dtype"]):
                        raise Refused(f"manifest: attribute {p}:{name} differs from the file's")
                elif kind == "dataset":
                    r = by_key[("dataset", p, "")]
                    layout = {0: "compact", 1: "contiguous", 2: "chunked"}[r["layout"]]
                    plist = obj.id.get_create_plist()
                    h5_layout = {h5py.h5d.COMPACT: "compact", h5py.h5d.CONTIGUOUS: "contiguous", h5py.h5d.CHUNKED: "chunked"}[plist.get_layout()]
                    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
                    offset = obj.id.get_offset() if h5_layout == "contiguous" else None
                    if (layout != h5_layout or filters != r["filters"] or list(obj.shape) != r["dims"] or r["dtype"] != dtype_name(obj)
                            or r["length"] != obj.id.get_storage_size() or (offset is not None and r["length"] and offset != r["offset"])):
                        raise Refused(f"manifest: dataset {p} differs from the file's")
                    listed[p] = r["checksum"]
                    if "data" in r:
                        copies[p] = r["data"]
        fingerprint = xxhash.xxh3_64()
        n = 0
        for ds in datasets(f):
            array = ds[()]
            element_bytes = array.tobytes() if hasattr(array, "tobytes") else bytes(array)
            digest = xxhash.xxh3_64_intdigest(element_bytes)
            stored = f"{listed[ds.name]:016x}" if version == 2 else ds.attrs.get("h5ser_checksum", "")[8:]
            if stored != f"{digest:016x}":
                raise Refused(f"{ds.name}: checksum mismatch")
            if version == 2 and ds.name in copies and copies[ds.name] != element_bytes:
                raise Refused(f"manifest: the copy of compact dataset {ds.name} differs from the file's")
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
        format1 = sorted(os.path.join(r, n) for r, _, ns in os.walk(sys.argv[3]) for n in ns if n.endswith(".h5"))
        if len(format1) < 3:
            failures.append(f"expected the format-1 test files, found {format1}")
        for path in format1:
            try:
                n = verify(path)
                print(f"ok: format 1: {os.path.basename(path)}: seal, {n} checksum attributes and the fingerprint")
            except Refused as e:
                failures.append(f"{path}: refused a format-1 file: {e}")
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
            ranges, manifest_bytes = check_seal(bytes(data))
            if not manifest_bytes:
                failures.append(f"{name}: no manifest")
                continue
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

            # A flipped byte in the metadata must fail the seal's hash, one in its header the seal,
            # one in the manifest the manifest's checksum.
            manifest_at = 64 + 16 * len(ranges) + len(manifest_bytes) // 2
            for position, expect in [(outside, "the HDF5 metadata changed"), (20, "seal"), (manifest_at, "manifest: its checksum")]:
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
