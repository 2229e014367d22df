#!/usr/bin/env python3
"""Checks h5ser::keras against the real Keras files in FIXTURES, with h5py as the independent reader.

For every fixture, `keras_reemit` loads it into its C++ struct (h5ser::keras::load_weights) and writes
the weights back (h5ser::keras::save_weights, names from read_model_config). This script then reads
both files the way Keras does (the rules of tf-keras `load_weights_from_hdf5_group` and Keras 3's
legacy loader: layer_names / weight_names, chunked name lists, bytes or str) and requires the same
layer names, weight names, order, dtypes, shapes and bytes. Native Keras 3 stores (.weights.h5, and
.keras archives read with zipfile) are compared by layer order and vars numbering instead.

    check_keras_files.py KERAS_REEMIT FIXTURES_DIR
"""
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import h5py
import numpy as np

HDF5_OBJECT_HEADER_LIMIT = 64512


def decode(x):
    return x.decode("utf8") if hasattr(x, "decode") else x


def load_attributes_from_hdf5_group(group, name):
    """Keras's reader for name lists (tf_keras/saving/legacy/hdf5_format.py)."""
    if name in group.attrs:
        return [decode(n) for n in group.attrs[name]]
    data = []
    chunk_id = 0
    while f"{name}{chunk_id}" in group.attrs:
        data.extend(decode(n) for n in group.attrs[f"{name}{chunk_id}"])
        chunk_id += 1
    return data


def keras_legacy_weights(path):
    """What Keras's load_weights sees in a legacy file: [(layer, [(weight name, array)])]."""
    with h5py.File(path, "r") as f:
        if "layer_names" not in f.attrs and "model_weights" in f:
            f = f["model_weights"]
        version = decode(f.attrs["keras_version"]) if "keras_version" in f.attrs else "1"
        backend = decode(f.attrs["backend"]) if "backend" in f.attrs else None
        layers = []
        for name in load_attributes_from_hdf5_group(f, "layer_names"):
            g = f[name]
            names = load_attributes_from_hdf5_group(g, "weight_names")
            layers.append((name, [(w, np.asarray(g[w])) for w in names]))
        return version, backend, layers


def keras3_native_weights(h5file):
    """Layers of a Keras 3 store in model order (the fixtures' layer groups are named in counter order)."""
    def key(name):
        base, _, counter = name.replace("layers\\", "").rpartition("_")
        return (base, int(counter)) if counter.isdigit() else (name.replace("layers\\", ""), 0)

    container = h5file["layers"] if "layers" in h5file else h5file
    names = [n for n in container if "layers" in h5file or n.startswith("layers\\")]
    layers = []
    for name in sorted(names, key=key):
        vars_group = container[name]["vars"]
        layers.append((name, [(f"vars/{i}", np.asarray(vars_group[str(i)])) for i in range(len(vars_group))]))
    return layers


def native_weights(path):
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
                return keras3_native_weights(f)
    with h5py.File(path, "r") as f:
        return keras3_native_weights(f)


def same_array(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()  # NaN and -0.0 too


def check_fixture(reemit, path, encoding, failures):
    name = os.path.basename(path)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "reemitted.h5")
        run = subprocess.run([reemit, path, out, encoding], capture_output=True, text=True)
        if run.returncode != 0:
            failures.append(f"{name}: keras_reemit failed: {run.stderr.strip()}")
            return
        version, backend, new_layers = keras_legacy_weights(out)
        if version != "2.15.0" or backend != "tensorflow":
            failures.append(f"{name}: re-emitted keras_version/backend read as {version!r}/{backend!r}")
        native = name.endswith(".weights.h5") or name.endswith(".keras")
        old_layers = native_weights(path) if native else keras_legacy_weights(path)[2]
        if native:  # names differ by design (vars/i); compare the layers with weights, in order
            old_layers = [(n.replace("layers\\", ""), w) for n, w in old_layers if w]
            new_layers = [(n, w) for n, w in new_layers if w]
        if [n for n, _ in old_layers] != [n for n, _ in new_layers]:
            failures.append(f"{name}: layer names {[n for n, _ in new_layers]} != {[n for n, _ in old_layers]}")
            return
        for (layer, old), (_, new) in zip(old_layers, new_layers):
            if [w for w, _ in old] != [w for w, _ in new]:
                failures.append(f"{name}: layer {layer}: weight names {[w for w, _ in new]} != {[w for w, _ in old]}")
                continue
            for (w, a), (_, b) in zip(old, new):
                if not same_array(a, b):
                    failures.append(f"{name}: {layer}/{w}: {b.dtype}{b.shape} differs from the original {a.dtype}{a.shape}")
        count = sum(len(w) for _, w in new_layers)
        print(f"ok   {name} ({encoding}): {len(new_layers)} layers, {count} weights identical")


def check_many(reemit, encoding, failures):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "many.h5")
        subprocess.run([reemit, "--many", out, encoding], check=True)
        with h5py.File(out, "r") as f:
            chunks = sorted(a for a in f.attrs if a.startswith("layer_names"))
            for a in chunks:
                size = f.attrs.get_id(a).get_storage_size()
                if size > HDF5_OBJECT_HEADER_LIMIT:
                    failures.append(f"--many: attribute {a} holds {size} bytes, above Keras's limit")
        _, _, layers = keras_legacy_weights(out)
        if "layer_names" in chunks or len(chunks) < 2:
            failures.append(f"--many: expected layer_names0, layer_names1, ...; found {chunks}")
        if [n for n, _ in layers] != [f"layers_{i}" for i in range(6000)]:
            failures.append("--many: layer order differs")
        for i, (_, weights) in enumerate(layers):
            if weights[0][1][0, 0] != i or weights[1][1][1] != -i:
                failures.append(f"--many: layer {i} holds the wrong values")
                break
        print(f"ok   6,000 layers ({encoding}): layer_names split into {len(chunks)} attributes, all in order")


def write_keras_like(path, encoding):
    """A save_weights file written with h5py in one of the string shapes Keras files have, with a
    non-ASCII layer name and a weightless layer (its weight_names an empty float64 array)."""
    layers = [("dénse", [("dénse/kernel:0", np.arange(6, dtype=np.float32).reshape(2, 3)),
                         ("dénse/bias:0", np.array([1, -0.0, np.nan], dtype=np.float32))]),
              ("dropout", []),
              ("out", [("out/kernel:0", np.arange(3, dtype=np.float32).reshape(3, 1)),
                       ("out/bias:0", np.array([7], dtype=np.float32))])]

    def names(values):
        if not values:
            return np.zeros((0,), dtype=np.float64)
        raw = [v.encode("utf8") for v in values]
        if encoding == "vlen-utf8":
            return np.array(values, dtype=h5py.string_dtype("utf-8"))
        if encoding == "vlen-ascii":
            return np.array(raw, dtype=h5py.string_dtype("ascii"))
        return np.array(raw)  # fixed-length |S, NULLPAD (h5py 2 and Keras's chunked path)

    with h5py.File(path, "w") as f:
        if encoding == "chunked":  # Keras's split: layer_names0, layer_names1
            f.attrs["layer_names0"] = np.array([n.encode("utf8") for n, _ in layers[:2]])
            f.attrs["layer_names1"] = np.array([layers[2][0].encode("utf8")], dtype="S7")
        else:
            f.attrs["layer_names"] = names([n for n, _ in layers])
        f.attrs["backend"] = "tensorflow"       # str: VLEN UTF-8
        f.attrs["keras_version"] = b"2.4.0"      # bytes: VLEN ASCII
        for name, weights in layers:
            g = f.create_group(name)
            g.attrs["weight_names"] = names([w for w, _ in weights])
            for w, value in weights:
                g.create_dataset(w, data=value)


def check_string_encodings(reemit, failures):
    with tempfile.TemporaryDirectory() as tmp:
        for encoding in ("fixed", "vlen-ascii", "vlen-utf8", "chunked"):
            path = os.path.join(tmp, f"synthetic_{encoding}.h5")
            write_keras_like(path, encoding)
            check_fixture(reemit, path, "fixed", failures)


def main():
    reemit, fixtures = sys.argv[1], sys.argv[2]
    failures = []
    for encoding in ("fixed", "variable"):
        check_many(reemit, encoding, failures)
    check_string_encodings(reemit, failures)
    folder = os.path.join(fixtures, "keras")
    if not os.path.isdir(folder):
        print(f"SKIPPED: the Keras fixtures are not at {folder} (set H5SER_FIXTURES_DIR)")
    else:
        files = sorted(f for f in os.listdir(folder) if f.endswith((".h5", ".keras")))
        for f in files:
            for encoding in ("fixed", "variable"):
                check_fixture(reemit, os.path.join(folder, f), encoding, failures)
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
