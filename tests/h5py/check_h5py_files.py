"""h5ser reads files written by h5py: numpy arrays, str/bytes/bool/int/float attributes."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np


def main():
    reader = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "from_h5py.h5")
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
        result = subprocess.run([reader, path], capture_output=True, text=True)
        print(result.stdout, end="")
        print(result.stderr, end="")
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
