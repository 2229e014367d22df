"""h5py reads files written by h5ser: exact tree, shapes, dtypes, values and Python types."""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def tree(f):
    names = []
    f.visit(names.append)
    return sorted(names)


def main():
    writer = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([writer, d], check=True)
        with h5py.File(os.path.join(d, "full.h5"), "r") as f:
            check_full(f)
        with h5py.File(os.path.join(d, "weights.h5"), "r") as f:
            check_weights_only(f)
    for m in failures:
        print("FAIL:", m)
    print(f"h5py cross-check: {'FAILED' if failures else 'passed'} ({len(failures)} failures)")
    return 1 if failures else 0


def check_full(f):
    expected = sorted([
        "layer_1", "layer_1/kernel", "layer_1/bias",
        "blocks", "blocks/0", "blocks/0/kernel", "blocks/0/bias",
        "schedule", "token_ids", "half", "brain", "mask", "temperature", "counts",
        "adam", "adam/momentum"])
    check(tree(f) == expected, f"tree {tree(f)} != {expected}")
    # Groups list their members in field order (creation order is tracked). h5py lists the root by
    # name whatever the file says: it asks the file creation property list, which HDF5 1.10 reports
    # as untracked even though the root group tracks creation order.
    check(list(f["layer_1"]) == ["kernel", "bias"], f"layer_1 order {list(f['layer_1'])}")
    check(list(f["blocks/0"]) == ["kernel", "bias"], f"blocks/0 order {list(f['blocks/0'])}")

    k = f["layer_1/kernel"]
    check(k.shape == (2, 3) and k.dtype == np.dtype("<f4"), f"kernel {k.shape} {k.dtype}")
    want = np.array([[0.5, -1.25, 3.0], [-0.0, 1e-30, 65504.0]], dtype="<f4")
    check(k[()].tobytes() == want.tobytes(), "kernel bytes")
    check(f["layer_1/bias"][()].tolist() == [1.0, 2.0, 3.0], "bias values")
    check(f["blocks/0/kernel"][()].tolist() == [[7.0, 8.0]], "blocks/0/kernel")

    ids = f["token_ids"]
    check(ids.dtype == np.dtype("<i8") and ids[()].tolist() == [-2**63, 0, 2**63 - 1], f"token_ids {ids.dtype} {ids[()]}")
    half = f["half"]
    check(half.dtype == np.dtype("<f2") and half[()].tolist() == [1.5, -2.0, float("inf")], f"half {half.dtype} {half[()]}")
    brain = f["brain"]
    check(brain.dtype.itemsize == 2 and brain.dtype.kind == "V", f"bfloat16 stored as 2-byte opaque, got {brain.dtype}")
    check(brain.attrs["dtype"] == "bfloat16", "bfloat16 dataset carries dtype='bfloat16'")
    as_float = (np.frombuffer(brain[()].tobytes(), dtype="<u2").astype("<u4") << 16).view("<f4")
    check(as_float.tolist() == [1.0, -3.0], f"bfloat16 values {as_float}")
    mask = f["mask"]
    check(mask.dtype == np.dtype("bool") and mask[()].tolist() == [True, False, True], f"mask {mask.dtype} {mask[()]}")
    temp = f["temperature"]
    check(temp.shape == () and temp.dtype == np.dtype("<f8") and temp[()] == 0.7, f"temperature {temp.shape} {temp[()]}")
    counts = f["counts"]
    check(counts.dtype == np.dtype("<u2") and counts[()].tolist() == [1, 65535], f"counts {counts.dtype}")

    a = f.attrs
    check(type(a["name"]) is str and a["name"] == "mlp ünïcode", f"name is {type(a['name'])} {a['name']!r}")
    check(isinstance(a["trainable"], np.bool_) and bool(a["trainable"]), f"trainable {type(a['trainable'])}")
    check([type(t) for t in a["tags"]] == [str, str] and list(a["tags"]) == ["a", "bc"], f"tags {a['tags']!r}")
    check(a["betas"].dtype == np.dtype("<f8") and a["betas"].tolist() == [0.9, 0.999, 1e-7], f"betas {a['betas']!r}")
    check(a["seed"] == 42 and a["seed"].dtype == np.dtype("<i4"), "seed")
    check(f["layer_1"].attrs["units"] == 3 and type(f["layer_1"].attrs["activation"]) is str, "layer_1 attrs")
    check(f["schedule"].attrs["warmup"] == 0.25 and f["schedule"].attrs["decay"] == 0.5, "schedule map")
    check(f["adam"].attrs["iterations"] == 12, "optimizer step")

    check(a["h5ser_format_version"] == 2, "format version")
    # Format 2 keeps checksums in the manifest: h5py sees no attributes on datasets but bfloat16's marker.
    extra = []
    f.visititems(lambda name, obj: extra.extend(f"{name}:{k}" for k in obj.attrs if k != "dtype")
                 if isinstance(obj, h5py.Dataset) else None)
    check(not extra, f"dataset attributes {extra}")
    for key in ("h5ser_version", "h5ser_mode", "model_type", "schema", "fingerprint"):
        check(type(a[key]) is str, f"root attribute {key} is {type(a[key])}, want str")
    check(a["h5ser_mode"] == "full_model", "mode")
    check(a["model_type"] == "crosscheck::Model", f"model_type {a['model_type']}")
    schema = json.loads(a["schema"])
    check(schema["fields"]["layer_1"]["fields"]["kernel"] == {"kind": "dataset", "dtype": "float32", "shape": [2, 3]},
          f"schema kernel {schema['fields']['layer_1']}")
    check(schema["fields"]["adam"].get("optimizer_state") is True, "schema marks optimizer state")
    check(len(a["fingerprint"]) == 16 and int(a["fingerprint"], 16) >= 0, "fingerprint is 16 hex digits")


def check_weights_only(f):
    expected = sorted(["layer_1", "layer_1/kernel", "layer_1/bias", "blocks", "blocks/0", "blocks/0/kernel",
                       "blocks/0/bias", "token_ids", "half", "brain", "mask", "temperature", "counts"])
    check(tree(f) == expected, f"weights-only tree {tree(f)}")
    check(sorted(f.attrs) == ["fingerprint", "h5ser_format_version", "h5ser_mode"], f"weights-only root attrs {sorted(f.attrs)}")
    check(f.attrs["h5ser_mode"] == "weights_only", "weights-only mode")
    check(len(f["layer_1"].attrs) == 0, "no hyperparameters in weights-only files")


if __name__ == "__main__":
    sys.exit(main())
