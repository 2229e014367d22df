#!/usr/bin/env python3
"""h5py and the h5ser tool read what a sharded save wrote exactly as what h5ser::save wrote.

    check_mpi_files.py DIR [H5SER_TOOL]

DIR is the folder tests/mpi/test_mpi.cpp left its files in under `mpirun -np 2` (sharded.h5 from 2
ranks, serial.h5 from h5ser::save of the same whole model). Every group, dataset and attribute is
compared: names and order, dtypes, shapes, storage layout, chunks, filters, attribute values and
data bytes. With H5SER_TOOL, `h5ser verify` must pass on the sharded file and `h5ser diff` must
find the two files equal.
"""
import subprocess
import sys

import h5py
import numpy as np

LAYOUTS = {h5py.h5d.COMPACT: "compact", h5py.h5d.CONTIGUOUS: "contiguous", h5py.h5d.CHUNKED: "chunked"}


def attributes(obj):
    return {name: obj.attrs[name] for name in obj.attrs}


def same_value(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return type(a) is type(b) and a == b


def compare(a, b, path, problems):
    if type(a) is not type(b):
        problems.append(f"{path}: {type(a).__name__} vs {type(b).__name__}")
        return
    attrs_a, attrs_b = attributes(a), attributes(b)
    if list(attrs_a) != list(attrs_b):
        problems.append(f"{path}: attributes {list(attrs_a)} vs {list(attrs_b)}")
    for name in attrs_a:
        if name in attrs_b and not same_value(attrs_a[name], attrs_b[name]):
            problems.append(f"{path}@{name}: {attrs_a[name]!r} vs {attrs_b[name]!r}")
    if isinstance(a, h5py.Group):
        names_a, names_b = list(a), list(b)  # creation order: both files track it
        if names_a != names_b:
            problems.append(f"{path}: members {names_a} vs {names_b}")
        for name in names_a:
            if name in b:
                compare(a[name], b[name], path.rstrip("/") + "/" + name, problems)
        return
    facts = lambda d: (d.dtype, d.shape, d.chunks, d.compression, d.compression_opts, d.shuffle, d.fletcher32,
                       LAYOUTS.get(d.id.get_create_plist().get_layout()))
    if facts(a) != facts(b):
        problems.append(f"{path}: {facts(a)} vs {facts(b)}")
    elif a[()].tobytes() != b[()].tobytes():
        problems.append(f"{path}: the data differs")


def main():
    folder = sys.argv[1]
    sharded, serial = f"{folder}/sharded.h5", f"{folder}/serial.h5"
    problems = []
    with h5py.File(sharded, "r") as a, h5py.File(serial, "r") as b:
        compare(a, b, "/", problems)
        datasets = []
        a.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None)
    print(f"h5py: {len(datasets)} datasets compared, {len(problems)} differences")
    for p in problems:
        print("  " + p)
    if len(datasets) < 10:
        problems.append(f"only {len(datasets)} datasets in {sharded}")
    if len(sys.argv) > 2:
        for args in (["verify", sharded], ["diff", sharded, serial]):
            run = subprocess.run([sys.argv[2]] + args, capture_output=True, text=True)
            print(f"h5ser {args[0]}: exit {run.returncode}\n{run.stdout}{run.stderr}")
            if run.returncode != 0:
                problems.append(f"h5ser {args[0]} failed")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
