"""h5ser reads files written by h5py: numpy arrays, str/bytes/bool/int/float attributes.

    check_h5py_files.py READER [H5SER_TOOL]

1. A file with h5ser's root attributes (written as h5ser would): READER checks every value.
2. A file without them, as a Python colleague writes one (every numeric dtype, bool, strings,
   compact, chunked + gzip and contiguous datasets, a nested group, attributes as scalars and as
   arrays of one element): READER --foreign loads it with h5ser::foreign and prints every value,
   compared here bit for bit with what h5py wrote. Without the policy, and into a struct it does not
   fit, the load fails saying so. With H5SER_TOOL: `h5ser ls` lists it, `h5ser cat` prints tensors
   and a part of one as h5py reads them (floats read back to the same value), `h5ser convert --from hdf5`
   seals it into an h5ser file, which `h5ser verify` passes and READER --h5ser loads (verified) to
   the same values. READER --foreign also reads two tensors by path with h5ser::read_tensor.
3. A file laid out as MATLAB's `save -v7.3` writes one (its header in a 512-byte userblock,
   matrices transposed, a struct as a group, MATLAB_class attributes): READER --matlab loads it
   into a struct and flat into a map of any_tensor, both compared bit for bit.
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np


def run(args):
    result = subprocess.run(args, capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def write_h5ser_like(path):
    with h5py.File(path, "w") as f:
        f.attrs["h5ser_format_version"] = np.int32(1)
        f.attrs["h5ser_mode"] = "full_model"
        g = f.create_group("dense")
        g["kernel"] = (np.arange(6, dtype="<f4") * 0.5).reshape(2, 3)
        g["bias"] = np.array([1.0, 2.0, -1e300])
        g.attrs["units"] = np.int64(3)
        g.attrs["activation"] = "softmax ✓"
        g.attrs["legacy_name"] = np.bytes_(b"dense_1")
        f["mask"] = np.array([True, False, False, True])
        f["cube"] = -np.arange(8, dtype="<i4").reshape(2, 2, 2)
        f["raw"] = np.array([0, 1, 255], dtype="u1")
        f.attrs["flag"] = True
        f.attrs["names"] = ["eins", "zwei"]
        f.attrs["rate"] = 0.125


def write_foreign(path):
    """Returns what READER --foreign must print, line by line."""
    rng = np.random.default_rng(7)
    tensors = {}
    with h5py.File(path, "w") as f:
        block = f.create_group("block")
        kernel = rng.standard_normal((40, 30)).astype("<f4")
        block.create_dataset("kernel", data=kernel, chunks=(8, 30), compression="gzip")
        tensors["block/kernel"] = kernel
        bias = np.array([0.5, -2.25, 1e-300])
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create_simple(bias.shape)
        dataset = h5py.h5d.create(block.id, b"bias", h5py.h5t.IEEE_F64LE, space, dcpl=dcpl)
        dataset.write(h5py.h5s.ALL, h5py.h5s.ALL, bias)
        tensors["block/bias"] = bias
        block.attrs["units"] = np.array([30], dtype="<i8")
        block.attrs["scale"] = np.array([[0.1]])
        block.attrs["activation"] = "gelu ✓"
        block.attrs["legacy_name"] = np.bytes_(b"dense_7")
        dtypes = {"i8": "i1", "i16": "<i2", "i32": "<i4", "i64": "<i8", "u8": "u1", "u16": "<u2", "u32": "<u4",
                  "u64": "<u8", "f16": "<f2", "f32": "<f4"}
        for name, dtype in dtypes.items():
            info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
            if info is not None:
                values = rng.integers(info.min, info.max, size=12, dtype=dtype, endpoint=True)
            else:
                values = rng.standard_normal(12).astype(dtype)
            shape = {"i16": (3, 4), "f32": (2, 3, 2)}.get(name, (12,))
            values = values.reshape(shape)
            f[name] = values
            tensors[name] = values
        f["f64"] = np.float64(np.pi)
        tensors["f64"] = np.array(np.pi)
        mask = np.array([True, False, True, True, False])
        f["mask"] = mask
        tensors["mask"] = mask
        big = rng.standard_normal(1 << 18).astype("<f4")
        f.create_dataset("big", data=big)
        tensors["big"] = big
        anything = np.arange(10, dtype="<u2").reshape(2, 5)
        f["any"] = anything
        f.attrs["epoch"] = np.int64(12)
        f.attrs["flag"] = np.bool_(True)
        f.attrs["tags"] = ["alpha", "beta ✓"]

    def tensor_line(name, values):
        dtype = {"i": "int", "u": "uint", "f": "float", "b": "bool"}[values.dtype.kind]
        if dtype != "bool":
            dtype += str(values.dtype.itemsize * 8)
        shape = ",".join(str(d) for d in values.shape)
        return f"{name} {dtype} [{shape}] {np.ascontiguousarray(values).tobytes().hex()}"

    lines = [tensor_line("block/kernel", tensors["block/kernel"]), tensor_line("block/bias", tensors["block/bias"]),
             "block@units 30", "block@scale 0.10000000000000001", "block@activation gelu ✓", "block@legacy_name dense_7"]
    lines += [tensor_line(name, tensors[name]) for name in list(dtypes) + ["f64", "mask", "big"]]
    lines += ["any uint16[2, 5] " + anything.tobytes().hex(), "@epoch 12", "@flag 1", "@tags alpha beta ✓"]
    return lines


def write_matlab(path):
    """A MATLAB v7.3 MAT-file's layout; returns what READER --matlab must print."""
    with h5py.File(path, "w", userblock_size=512) as f:
        w = np.arange(6, dtype="<f8").reshape(3, 2)  # MATLAB's 2 x 3 matrix, stored transposed
        f["W"] = w
        b = np.array([[0.5, -1.0]])
        f["b"] = b
        layer = f.create_group("layer")  # a MATLAB struct
        kernel = np.array([[1.5, -2.0], [0.25, 3.0]], dtype="<f4")
        layer["kernel"] = kernel
        for obj, cls in ((f["W"], b"double"), (f["b"], b"double"), (layer, b"struct"), (layer["kernel"], b"single")):
            obj.attrs["MATLAB_class"] = np.bytes_(cls)
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Dec  7 04:00:00 2026 HDF5 schema 1.00 ."
    with open(path, "r+b") as f:
        f.write(header.ljust(116, b" ") + bytes(8) + b"\x00\x02IM")

    def line(prefix, name, values, describe):
        dtype = "float" + str(values.dtype.itemsize * 8)
        shape = (", " if describe else ",").join(str(d) for d in values.shape)
        shape = f"{dtype}[{shape}]" if describe else f"{dtype} [{shape}]"
        return f"{prefix}{name} {shape} {values.tobytes().hex()}"

    tensors = {"W": w, "b": b, "layer/kernel": kernel}
    return ([line("", n, v, False) for n, v in tensors.items()] + ["layer@MATLAB_class struct"] +
            [line("flat ", n, v, True) for n, v in tensors.items()])


def compare(what, output, expected):
    got = output.splitlines()
    ok = True
    for i, line in enumerate(expected):
        if i >= len(got) or got[i] != line:
            print(f"FAIL: {what}, line {i + 1}:\n  expected {line[:200]}\n  found    {got[i][:200] if i < len(got) else '(nothing)'}")
            ok = False
            break
    return ok


def main():
    reader = sys.argv[1]
    tool = sys.argv[2] if len(sys.argv) > 2 else None
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "from_h5py.h5")
        write_h5ser_like(path)
        code, out = run([reader, path])
        print(out, end="")
        failures += code != 0

        foreign = os.path.join(d, "foreign.h5")
        expected = write_foreign(foreign)
        code, out = run([reader, "--foreign", foreign])
        by_path = ["trusted load: same", "read_tensor " + expected[0], "read_tensor " + expected[7]]
        if code != 0 or not compare("h5ser::foreign load", out, expected + by_path):
            print(out)
            failures += 1
        else:
            print(f"h5ser::foreign loaded the h5py file bit for bit ({len(expected)} values), in the child and in place; "
                  "h5ser::read_tensor read two of its tensors by path")

        code, out = run([reader, "--without-policy", foreign])
        if code != 1 or "not an h5ser file" not in out or "h5ser::foreign" not in out:
            print(f"FAIL: without h5ser::foreign, the load must say what to write:\n{out}")
            failures += 1
        code, out = run([reader, "--mismatch", foreign])
        wanted = ["missing field at block.missing", "dtype mismatch at block.kernel", "shape mismatch at block.bias",
                  "unexpected object"]
        if code != 1 or not all(w in out for w in wanted):
            print(f"FAIL: a struct the file does not fit must list every problem ({wanted}):\n{out}")
            failures += 1
        else:
            print("a struct the h5py file does not fit: every problem listed")

        matlab = os.path.join(d, "weights.mat")
        expected_matlab = write_matlab(matlab)
        code, out = run([reader, "--matlab", matlab])
        if code != 0 or not compare("a MATLAB v7.3 file", out, expected_matlab):
            print(out)
            failures += 1
        else:
            print("a MATLAB v7.3 file (userblock, transposed matrices, a struct) loaded bit for bit, into a struct and flat")

        if tool:
            code, out = run([tool, "ls", foreign])
            listed = ["kernel", "float32[40, 30]", "deflate", "@units", "int64[1]", "[30]", "@tags", '["alpha", "beta ✓"]']
            if code != 0 or not all(w in out for w in listed):
                print(f"FAIL: h5ser ls of the h5py file:\n{out}")
                failures += 1
            # `h5ser cat` prints what h5py reads, element by element, and a part of it.
            with h5py.File(foreign, "r") as f:
                wanted = {"/i16": f["i16"][()], "/f16": f["f16"][()], "/mask": f["mask"][()], "/block/kernel": f["block/kernel"][2:4, 5:9]}
            for path, values in wanted.items():
                args = [tool, "cat", foreign, path] + (["--slice", "2:4,5:9"] if path == "/block/kernel" else [])
                code, out = run(args)
                printed = out.split("\n", 1)[1].replace("[", " ").replace("]", " ").replace(",", " ").split() if code == 0 else []
                if values.dtype == bool:
                    expected_text = ["True" if v else "False" for v in values.ravel()]
                else:
                    expected_text = [str(v) for v in values.ravel().tolist()] if values.dtype.kind in "iu" else None
                same = (printed == expected_text) if expected_text is not None else (
                    len(printed) == values.size and all(values.dtype.type(p) == v for p, v in zip(printed, values.ravel())))
                if not same:
                    print(f"FAIL: h5ser cat {path} does not print what h5py reads:\n{out}")
                    failures += 1
            sealed = os.path.join(d, "sealed.h5")
            code, out = run([tool, "convert", foreign, sealed, "--from", "hdf5"])
            code_verify, out_verify = run([tool, "verify", sealed])
            code_load, out_load = run([reader, "--h5ser", sealed])
            if code != 0 or code_verify != 0 or code_load != 0 or not compare("the converted file's load", out_load, expected):
                print(f"FAIL: h5ser convert --from hdf5, then verify and load:\n{out}\n{out_verify}\n{out_load}")
                failures += 1
            else:
                print("h5ser convert --from hdf5 sealed it; verify passes and a verified load reads the same values")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
