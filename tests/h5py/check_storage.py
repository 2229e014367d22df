"""h5py sees the storage h5ser was asked for: compression, options, shuffle, fletcher32, chunks
(h5ser's auto_chunk against h5py's own guess), compact layout, plugin filter ids; values intact."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from h5py._hl import filters as h5py_filters

failures = []


def check(ok, message):
    if not ok:
        failures.append(message)


def main():
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.argv[1], d], check=True)
        expected_square = (np.arange(1000 * 1000) % 251).astype("<f4").reshape(1000, 1000) * np.float32(0.5)
        with h5py.File(os.path.join(d, "compact.h5"), "r") as f:
            ds = f["square"]
            check(ds.compression == "gzip" and ds.compression_opts == 4, f"compact: {ds.compression} {ds.compression_opts}")
            check(ds.shuffle and not ds.fletcher32, "compact: shuffle, no fletcher32")
            for name in ("square", "line", "cube"):
                guess = h5py_filters.guess_chunk(f[name].shape, None, f[name].dtype.itemsize)
                check(f[name].chunks == guess, f"auto_chunk {name}: h5ser {f[name].chunks}, h5py {guess}")
            check(np.array_equal(ds[()], expected_square), "compact: values")
        with h5py.File(os.path.join(d, "archival.h5"), "r") as f:
            ds = f["square"]
            check(ds.compression == "gzip" and ds.compression_opts == 6 and ds.shuffle and ds.fletcher32,
                  f"archival: {ds.compression} {ds.compression_opts} {ds.shuffle} {ds.fletcher32}")
            check(np.array_equal(ds[()], expected_square), "archival: values")
        with h5py.File(os.path.join(d, "fast.h5"), "r") as f:
            check(f["square"].chunks is None and f["square"].compression is None, "fast: contiguous, unfiltered")
            layout = f["tiny"].id.get_create_plist().get_layout()
            check(layout == h5py.h5d.COMPACT, f"fast: the 64-byte tensor is compact, got layout {layout}")
            check(f["square"].id.get_create_plist().get_layout() == h5py.h5d.CONTIGUOUS, "fast: square is contiguous")
        with h5py.File(os.path.join(d, "explicit.h5"), "r") as f:
            ds = f["square"]
            check(ds.chunks == (10, 20) and ds.compression_opts == 7 and not ds.shuffle, f"explicit: {ds.chunks} {ds.compression_opts}")
            guess = h5py_filters.guess_chunk(f["cube"].shape, None, 1)
            check(f["cube"].chunks == guess, f"chunked<10, 20> leaves the 3-D cube to auto_chunk: {f['cube'].chunks} vs {guess}")
        with h5py.File(os.path.join(d, "lz4.h5"), "r") as f:
            check("32004" in f["square"]._filters, f"lz4 filter id in {f['square']._filters}")
        with h5py.File(os.path.join(d, "blosc.h5"), "r") as f:
            check("32001" in f["square"]._filters, f"blosc filter id in {f['square']._filters}")
        with h5py.File(os.path.join(d, "data.h5"), "r") as f:
            images = f["images"]
            check(images.shape == (10, 28, 28) and images.maxshape == (None, 28, 28), f"rows: {images.shape} {images.maxshape}")
            check(np.array_equal(images[()].ravel(), np.arange(10 * 28 * 28, dtype="<f4")), "rows: values")
            log = f["log"]
            check(log.dtype.names == ("id", "loss", "kept", "xy"), f"record fields {log.dtype.names}")
            check(log.dtype["id"] == np.dtype("<i8") and log.dtype["loss"] == np.dtype("<f4") and log.dtype["kept"] == np.dtype("bool")
                  and log.dtype["xy"] == np.dtype(("<f8", (2,))), f"record dtypes {log.dtype}")
            rows = log[()]
            check(rows["id"].tolist() == [0, 1, 2] and rows["kept"].tolist() == [False, True, False]
                  and rows["xy"][2].tolist() == [2.0, -1.0], f"record values {rows}")
            check(log.compression == "gzip", "records take storage policies")
    for m in failures:
        print("FAIL:", m)
    print(f"h5py storage check: {'FAILED' if failures else 'passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
