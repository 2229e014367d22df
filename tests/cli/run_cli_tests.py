#!/usr/bin/env python3
"""Golden-output tests of the h5ser command-line tool (ls, verify, diff, schema, audit, convert, seal, check).

Runs each command on files the tests create (cli_make_files) and, when present, on the real Keras
files, and compares stdout and the exit code with tests/cli/golden/<case>.txt. Paths are replaced by
<dir> and <fixtures>. After an intended change of output, regenerate with --update and review the diff.

    run_cli_tests.py H5SER CLI_MAKE_FILES FIXTURES_DIR [--update]
"""
import json
import os
import pathlib
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import h5py
import xxhash

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "safetensors"))
import write_safetensors  # noqa: E402  (tests/safetensors/, the independent writer)

GOLDEN = pathlib.Path(__file__).resolve().parent / "golden"


def flip_data_byte(src, dst, dataset, offset_in_data):
    """Copies src to dst with one bit flipped inside `dataset`'s stored elements (not its metadata)."""
    with h5py.File(src, "r") as f:
        start = f[dataset].id.get_offset()
    assert start is not None, f"{dataset} must be contiguous"
    data = bytearray(pathlib.Path(src).read_bytes())
    data[start + offset_in_data] ^= 0x10
    pathlib.Path(dst).write_bytes(bytes(data))


def edit_with_h5py(src, dst):
    """Copies src to dst and changes one weight with h5py, as a user fixing a checkpoint would, and
    notes it in an attribute (which changes the HDF5 metadata the seal covers)."""
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        f["encoder/kernel"][0, 0] = 42.0
        f["encoder"].attrs["note"] = "kernel[0, 0] fixed by hand"


def write_h5py_leaky(path):
    """A Keras-style weights file written with h5py that also holds a training set and an external link."""
    import numpy as np
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["backend"] = b"tensorflow"
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
        g.create_dataset("dense/kernel:0", data=np.ones((784, 10), dtype=np.float32))
        g.create_dataset("dense/bias:0", data=np.zeros((10,), dtype=np.float32))
        f.create_dataset("x_train", data=np.zeros((400, 784), dtype=np.float32))
        f["elsewhere"] = h5py.ExternalLink("other.h5", "/secrets")


def write_h5py_attributes(path):
    """Attributes of every kind `h5ser ls` summarizes, as h5py writes them."""
    import numpy as np
    with h5py.File(path, "w") as f:
        f.attrs["learning_rate"] = np.float32(0.1)
        f.attrs["momentum"] = 0.9
        f.attrs["epoch"] = np.int64(12)
        f.attrs["shuffle"] = True
        f.attrs["note"] = "a note of more than sixty characters, which ls cuts short with an ellipsis"
        f.attrs["steps"] = np.arange(100, dtype=np.int32)
        f.attrs["betas"] = np.array([0.9, 0.999], dtype=np.float32)
        f.attrs["grid"] = np.arange(6, dtype=np.float64).reshape(2, 3)
        f.attrs["masks"] = np.array([True, False, True])
        f.attrs["names"] = [f"layer_{i}_with_a_long_name" if i == 3 else f"layer_{i}" for i in range(10)]
        f.attrs["empty"] = np.zeros((0,), dtype=np.int8)
        g = f.create_group("dense")
        g.attrs["units"] = np.int32(10)
        g.create_dataset("kernel", data=np.ones((4, 10), dtype=np.float32)).attrs["initializer"] = "glorot_uniform"


def forge_seal(src, dst):
    """Puts a valid h5ser seal on a file h5ser did not write (a 4 KiB userblock in front, which HDF5
    skips), as anyone can: the seal detects damage, it is no signature. False without xxhash."""
    try:
        import xxhash
    except ImportError:
        return False
    body = pathlib.Path(src).read_bytes()
    userblock = 4096
    seal = bytearray(userblock)
    seal[0:16] = b"h5ser seal v1\0\0\0"
    seal[16:24] = userblock.to_bytes(8, "little")
    seal[24:32] = (userblock + len(body)).to_bytes(8, "little")
    seal[40:48] = xxhash.xxh3_64(body).intdigest().to_bytes(8, "little")  # no data ranges
    seal[48:56] = xxhash.xxh3_64(bytes(seal[0:48])).intdigest().to_bytes(8, "little")
    pathlib.Path(dst).write_bytes(bytes(seal) + body)
    return True


def main():
    h5ser, make_files, fixtures = sys.argv[1:4]
    update = "--update" in sys.argv[4:]
    keras = pathlib.Path(fixtures) / "keras"
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([make_files, tmp], check=True)
        flip_data_byte(f"{tmp}/model.h5", f"{tmp}/flipped.h5", "encoder/kernel", 4 * 100 + 2)
        write_h5py_leaky(f"{tmp}/h5py_leaky.h5")
        write_h5py_attributes(f"{tmp}/attributes.h5")
        edit_with_h5py(f"{tmp}/model.h5", f"{tmp}/edited.h5")
        schema = subprocess.run([h5ser, "schema", f"{tmp}/model.h5"], capture_output=True, text=True, check=True).stdout
        pathlib.Path(f"{tmp}/schema.json").write_text(schema)
        # A format-1 file written by h5ser 0.1.0 (test data): every command reads it, convert makes it format 2.
        shutil.copy(pathlib.Path(__file__).resolve().parent.parent / "data" / "format1" / "full_model.h5", f"{tmp}/format1.h5")
        # .safetensors files of an independent writer (tests/safetensors/), and one cut short.
        write_safetensors.main_into(tmp)
        whole = pathlib.Path(f"{tmp}/dotted_names.safetensors").read_bytes()
        pathlib.Path(f"{tmp}/cut.safetensors").write_bytes(whole[:-5])
        # Tensors of 4 KiB and more, which h5ser stores contiguous: `convert` copies their bytes from
        # file to file by the kernel, both ways (at offsets that are not page-aligned here).
        write_safetensors.write(pathlib.Path(f"{tmp}/contiguous.safetensors"), {
            name: (dtype, shape, write_safetensors.tensor_bytes(dtype, shape, 200 + i))
            for i, (name, dtype, shape) in enumerate([("embed.weight", "F32", (64, 32)), ("embed.bias", "BF16", (3001,)),
                                                      ("head.weight", "F64", (40, 40)), ("head.bias", "F32", (3,))])})
        sealed_crasher = False
        if keras.is_dir():
            # The reproducer: this bit makes libhdf5 1.10.8 crash (SIGSEGV in H5HG_read) when
            # `h5ser ls` reads the file in place; in the child process the tool reports it instead.
            data = bytearray((keras / "k3.14_legacy_mlp_adam.h5").read_bytes())
            data[6565] ^= 1 << 4
            pathlib.Path(f"{tmp}/keras_crashing.h5").write_bytes(bytes(data))
            # The same file with a forged seal: before, the tool trusted the seal and crashed.
            sealed_crasher = forge_seal(f"{tmp}/keras_crashing.h5", f"{tmp}/sealed_crashing.h5")
        cases = [
            ("ls", ["ls", "model.h5"]),
            # Attribute values as h5py writes them: scalars, strings cut short, lists summarized.
            ("ls_attribute_values", ["ls", "attributes.h5"]),
            ("ls_attribute_values_json", ["ls", "attributes.h5", "--json"]),
            ("ls_json", ["ls", "model.h5", "--json"]),
            ("ls_weights_only", ["ls", "weights.h5"]),
            ("verify", ["verify", "model.h5"]),
            ("verify_expected_fingerprint_differs", ["verify", "model.h5", "--expect-fingerprint", "0123456789abcdef"]),
            ("verify_flipped_byte", ["verify", "flipped.h5"]),
            ("verify_flipped_byte_json", ["verify", "flipped.h5", "--json"]),
            ("version", ["--version"]),
            ("diff_same", ["diff", "model.h5", "model.h5"]),
            ("diff_one_weight_changed", ["diff", "model.h5", "model_changed.h5"]),
            ("diff_one_weight_changed_json", ["diff", "model.h5", "model_changed.h5", "--json"]),
            ("diff_full_vs_weights_only", ["diff", "model.h5", "weights.h5"]),
            # Two checkpoints of one run, the same tensors at another step: attributes are compared.
            ("diff_attributes_differ", ["diff", "model.h5", "model_later_step.h5"]),
            ("diff_attributes_differ_json", ["diff", "model.h5", "model_later_step.h5", "--json"]),
            # One weight changed by 1e-3: within --atol 0.01, not within --atol 1e-4 nor --rtol 1e-6.
            ("diff_within_tolerance", ["diff", "model.h5", "model_changed.h5", "--atol", "0.01"]),
            ("diff_outside_tolerance", ["diff", "model.h5", "model_changed.h5", "--atol", "1e-4", "--rtol", "1e-6"]),
            ("schema", ["schema", "model.h5"]),
            ("schema_weights_only", ["schema", "weights.h5"]),
            # A file edited with h5py: diff points to `h5ser seal`, which names the tensor that
            # changed, and seals the file again when asked; verify and diff then read it.
            ("seal_intact", ["seal", "model.h5"]),
            ("seal_flipped_byte", ["seal", "flipped.h5"]),
            ("diff_edited_points_to_seal", ["diff", "model.h5", "edited.h5"]),
            ("seal_edited", ["seal", "edited.h5"]),
            ("verify_edited_names_changed_tensors", ["verify", "edited.h5"]),
            ("verify_edited_json", ["verify", "edited.h5", "--json"]),
            ("diff_edited_no_verify", ["diff", "model.h5", "edited.h5", "--no-verify"]),
            ("seal_edited_json", ["seal", "edited.h5", "--json"]),
            ("seal_edited_accept_changes", ["seal", "edited.h5", "--accept-changes"]),
            ("verify_resealed", ["verify", "edited.h5"]),
            ("diff_resealed", ["diff", "model.h5", "edited.h5"]),
            # What a load of one file into the struct another was saved from would report.
            ("check_same_struct", ["check", "model.h5", "--against", "model.h5"]),
            ("check_weights_only", ["check", "weights.h5", "--against", "model.h5"]),
            ("check_other_struct", ["check", "leaky.h5", "--against", "model.h5"]),
            ("check_older_version", ["check", "model_v1.h5", "--against", "model_v2.h5"]),
            ("check_newer_version", ["check", "model_v2.h5", "--against", "model_v1.h5"]),
            ("check_against_schema_json", ["check", "leaky.h5", "--against", "schema.json", "--json"]),
            ("audit_clean", ["audit", "model.h5"]),
            # An h5ser model whose top-level field is named `layers`, like a Keras 3 store's group:
            # h5ser's root attributes decide, so no Keras layers are listed and nothing is flagged.
            ("ls_h5ser_file_with_layers_field", ["ls", "model_v1.h5"]),
            ("ls_cpp_of_h5ser_file_refused", ["ls", "model_v1.h5", "--cpp"]),
            ("audit_h5ser_file_with_layers_field", ["audit", "model_v1.h5"]),
            ("audit_training_set", ["audit", "leaky.h5"]),
            ("audit_training_set_json", ["audit", "leaky.h5", "--json"]),
            ("audit_keras_style_with_data_and_link", ["audit", "h5py_leaky.h5"]),
            ("convert_h5ser_to_keras", ["convert", "model.h5", "model_keras.h5", "--to", "keras"]),
            ("ls_converted_to_keras", ["ls", "model_keras.h5"]),
            ("convert_recompress_archival", ["convert", "model.h5", "model_archival.h5", "--preset", "archival"]),
            ("convert_recompress_json", ["convert", "model.h5", "model_fast.h5", "--preset", "fast", "--json"]),
            ("ls_recompressed", ["ls", "model_archival.h5"]),
            ("diff_recompressed", ["diff", "model.h5", "model_archival.h5"]),
            ("verify_recompressed", ["verify", "model_archival.h5"]),
            ("load_recompressed_into_struct", ["@make_files", "--load-model", "model.h5", "model_archival.h5"]),
            ("ls_format1", ["ls", "format1.h5"]),
            ("verify_format1", ["verify", "format1.h5"]),
            ("convert_format1_to_format2", ["convert", "format1.h5", "format2.h5"]),
            ("ls_format1_converted", ["ls", "format2.h5"]),
            ("diff_format1_converted", ["diff", "format1.h5", "format2.h5"]),
            ("verify_format1_converted", ["verify", "format2.h5"]),
            ("usage_error", ["frobnicate", "model.h5"]),
            ("missing_file", ["ls", "absent.h5"]),
            ("ls_safetensors", ["ls", "dotted_names.safetensors"]),
            ("ls_safetensors_every_dtype_json", ["ls", "every_dtype.safetensors", "--json"]),
            ("ls_safetensors_cut_short", ["ls", "cut.safetensors"]),
            ("verify_safetensors", ["verify", "dotted_names.safetensors"]),
            ("verify_safetensors_json", ["verify", "every_dtype.safetensors", "--json"]),
            ("verify_safetensors_expected",
             ["verify", "dotted_names.safetensors", "--expect-fingerprint", "0e0ea2f0d103420c"]),
            ("verify_safetensors_cut_short", ["verify", "cut.safetensors"]),
            ("convert_safetensors_to_h5ser", ["convert", "dotted_names.safetensors", "from_safetensors.h5"]),
            ("verify_safetensors_converted", ["verify", "from_safetensors.h5"]),
            ("convert_h5ser_to_safetensors", ["convert", "from_safetensors.h5", "round_trip.safetensors"]),
            ("verify_safetensors_round_trip", ["verify", "round_trip.safetensors"]),
            ("convert_safetensors_fingerprint_checked", ["convert", "round_trip.safetensors", "round_trip.h5", "--json"]),
            ("convert_every_dtype_to_h5ser", ["convert", "every_dtype.safetensors", "every_dtype.h5"]),
            ("convert_contiguous_to_h5ser", ["convert", "contiguous.safetensors", "contiguous.h5"]),
            ("verify_contiguous_converted", ["verify", "contiguous.h5"]),
            ("diff_contiguous_vs_converted", ["diff", "contiguous.safetensors", "contiguous.h5"]),
            ("convert_contiguous_compressed", ["convert", "contiguous.safetensors", "contiguous_gzip.h5", "--preset", "compressed"]),
            ("verify_contiguous_compressed", ["verify", "contiguous_gzip.h5"]),
            ("diff_contiguous_vs_compressed", ["diff", "contiguous.safetensors", "contiguous_gzip.h5"]),
            ("convert_contiguous_back", ["convert", "contiguous.h5", "contiguous_back.safetensors"]),
            ("diff_contiguous_round_trip", ["diff", "contiguous.safetensors", "contiguous_back.safetensors"]),
            ("convert_every_dtype_back", ["convert", "every_dtype.h5", "every_dtype_back.safetensors"]),
            ("metadata_kept_through_h5ser", ["@make_files", "--metadata", "every_dtype_back.safetensors"]),
            ("load_safetensors_conversions_into_struct", ["@make_files", "--load-gpt", "from_safetensors.h5", "round_trip.safetensors"]),
            ("convert_safetensors_to_keras", ["convert", "dotted_names.safetensors", "k.h5", "--to", "keras"]),
            ("convert_h5ser_to_safetensors_optimizer_left_out", ["convert", "model.h5", "model.safetensors"]),
            ("load_weights_from_converted_safetensors", ["@make_files", "--weights-from", "model.safetensors", "model.h5"]),
            # diff reads either format: a file and its conversion are equal, tensor bytes compared.
            # A flipped bit in a sealed file's tensor: the conversion names it and writes nothing.
            ("convert_flipped_to_safetensors_refused", ["convert", "flipped.h5", "flipped.safetensors"]),
            ("flipped_safetensors_not_written", ["ls", "flipped.safetensors"]),
            ("diff_safetensors_vs_converted", ["diff", "dotted_names.safetensors", "from_safetensors.h5"]),
            ("diff_every_dtype_vs_converted_json", ["diff", "every_dtype.safetensors", "every_dtype.h5", "--json"]),
            ("diff_safetensors_vs_changed_h5ser", ["diff", "model.safetensors", "model_changed.h5"]),
            # One tensor, or a part, as numpy prints it: from a sealed file (verified), a file h5py
            # wrote, a .safetensors file; a flipped bit, a missing path and a part out of bounds refused.
            ("cat", ["cat", "model.h5", "/encoder/kernel"]),
            ("cat_slice", ["cat", "model.h5", "/encoder/kernel", "--slice", "1:3,2:"]),
            ("cat_one_row", ["cat", "model.h5", "encoder/kernel", "--slice", "2"]),
            ("cat_h5py_file", ["cat", "h5py_leaky.h5", "/dense/dense/bias:0"]),
            ("cat_safetensors", ["cat", "every_dtype.safetensors", "/t_f16", "--slice", ":1"]),
            ("cat_safetensors_bfloat16_scalar", ["cat", "every_dtype.safetensors", "t_bf16"]),
            # A part of a tensor whose name has dots, which ls shows as groups: cat takes the name.
            ("cat_safetensors_dotted_name_slice", ["cat", "dotted_names.safetensors", "/h.0.attn.c_attn.bias", "--slice", "0:4"]),
            ("cat_large_summarized", ["cat", "contiguous.h5", "/embed/weight"]),
            ("cat_flipped_byte_refused", ["cat", "flipped.h5", "/encoder/kernel"]),
            ("cat_missing_path", ["cat", "model.h5", "/encoder/kernels"]),
            ("cat_slice_out_of_bounds", ["cat", "model.h5", "/encoder/kernel", "--slice", "0:99"]),
            ("cat_slice_not_a_slice", ["cat", "model.h5", "/encoder/kernel", "--slice", "a:b"]),
        ]
        keras_cases = [
            ("ls_keras_2.3.1", ["ls", str(keras / "k2.3.1_mlp_sparse_xent.h5")]),
            ("ls_keras_1.2.2", ["ls", str(keras / "k1.2.2_lstm_theano.h5")]),
            ("ls_keras_3_weights", ["ls", str(keras / "k3_mlp_adam.weights.h5")]),
            # Structs that load the file (tests/keras/structs_load.cpp compiles and runs them).
            ("ls_keras_cpp", ["ls", str(keras / "k3.14_legacy_mlp_adam.h5"), "--cpp"]),
            ("ls_keras_archive", ["ls", str(keras / "k2.15_windows_backslash.keras")]),
            ("verify_keras_file", ["verify", str(keras / "k2.3.1_mlp_sparse_xent.h5")]),
            ("verify_keras_file_expected_fingerprint",
             ["verify", str(keras / "k2.3.1_mlp_sparse_xent.h5"), "--expect-fingerprint", "2eef694eecdecec1"]),
            ("verify_keras_file_other_fingerprint",
             ["verify", str(keras / "k2.3.1_mlp_sparse_xent.h5"), "--expect-fingerprint", "0123456789abcdef", "--json"]),
            ("audit_keras_file", ["audit", str(keras / "k3.14_legacy_mlp_adam.h5")]),
            ("convert_keras_to_h5ser", ["convert", str(keras / "k2.3.1_mlp_sparse_xent.h5"), "k231.h5", "--preset", "compressed"]),
            ("verify_converted_keras", ["verify", "k231.h5"]),
            ("load_converted_keras_into_struct", ["@make_files", "--load-converted", "k231.h5"]),
            ("convert_keras_archive", ["convert", str(keras / "k2.15_windows_backslash.keras"), "k215.h5"]),
            ("ls_converted_keras_archive", ["ls", "k215.h5"]),
            # A Keras file and its conversion: layers matched to groups, the optimizer left out.
            ("diff_keras_vs_converted", ["diff", str(keras / "k2.3.1_mlp_sparse_xent.h5"), "k231.h5"]),
            ("diff_converted_vs_keras_archive", ["diff", "k215.h5", str(keras / "k2.15_windows_backslash.keras")]),
            ("diff_keras_vs_other_h5ser", ["diff", str(keras / "k2.3.1_mlp_sparse_xent.h5"), "k215.h5"]),
            ("ls_keras_crashing_file", ["ls", "keras_crashing.h5"]),
            ("ls_keras_2.3.1_trusted", ["ls", str(keras / "k2.3.1_mlp_sparse_xent.h5"), "--trusted"]),
        ]
        if keras.is_dir() and sealed_crasher:
            keras_cases += [("ls_forged_seal_on_crasher", ["ls", "sealed_crashing.h5"])]
        if keras.is_dir():
            cases += keras_cases
        else:
            print(f"SKIPPED: Keras fixtures not found in {keras}; {len(keras_cases)} cases not run")
        for name, args in cases:
            program = [make_files] + args[1:] if args[0] == "@make_files" else [h5ser] + args
            run = subprocess.run(program, cwd=tmp, capture_output=True, text=True)
            text = run.stdout + (run.stderr if run.returncode != 0 else "") + f"exit: {run.returncode}\n"
            text = text.replace(tmp, "<dir>").replace(str(keras), "<fixtures>/keras")
            # How the child ended: a SIGSEGV, or under AddressSanitizer its report and exit status 1.
            text = re.sub(r"(crashed with signal \d+ \([^)]*\)|ended with exit status \d+ without a reply)", "<crashed>", text)
            golden = GOLDEN / f"{name}.txt"
            if update:
                golden.write_text(text)
                continue
            expected = golden.read_text() if golden.exists() else "(no golden file)\n"
            if text != expected:
                failures.append(name)
                print(f"FAIL {name}: {' '.join(args)}\n--- expected\n{expected}--- got\n{text}")
            else:
                print(f"ok   {name}")
        if not update:
            failures += check_conversions_with_h5py(tmp)
            failures += check_progress_bar_ends_its_line(h5ser, tmp)
    if update:
        print(f"updated {len(cases)} golden files in {GOLDEN}")
    documents = [a.split("=", 1)[1] for a in sys.argv[4:] if a.startswith("--docs=")]
    examples = [a.split("=", 1)[1] for a in sys.argv[4:] if a.startswith("--example=")]
    if documents and not update:
        failures += check_documented_sessions(h5ser, make_files, documents, examples)
    return 1 if failures else 0


def check_progress_bar_ends_its_line(h5ser, tmp):
    """On a terminal the progress bar is drawn on stderr, which is usually the terminal stdout
    goes to: the bar's line must be erased before the report starts (before: `...100%file: ...`)."""
    import pty
    failures = []
    # --trusted runs the command in this process, as its output is printed (by default a child
    # process runs it, and its bar is gone before the parent prints what the child found).
    for args in (["verify", "model.h5", "--trusted"], ["diff", "model.h5", "model_changed.h5", "--trusted"],
                 ["verify", "edited.h5", "--trusted"], ["verify", "model.h5"]):
        pid, fd = pty.fork()
        if pid == 0:  # the child: stdout and stderr are the terminal
            os.chdir(tmp)
            os.execv(h5ser, [h5ser] + args)
        out = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        os.waitpid(pid, 0)
        os.close(fd)
        text = out.decode(errors="replace")
        first_line = {"verify": "file: ", "diff": "A: "}[args[0]]
        drawn = f"{args[0]} [" in text
        erased = ("\r\x1b[K" + first_line) in text
        if drawn and erased:
            print(f"ok   progress bar ends its line: {' '.join(args)}")
        else:
            failures.append("progress bar: " + " ".join(args))
            print(f"FAIL progress bar ({'drawn' if drawn else 'never drawn'}, {'erased' if erased else 'not erased'} "
                  f"before the report): {' '.join(args)}\n{text!r}")
    return failures


def check_conversions_with_h5py(tmp):
    """The conversions of the independent writer's every-dtype file, read by others: h5py finds
    every tensor of `h5ser convert`'s h5ser file, and this script's own parser every tensor of the
    .safetensors file converted back, with the bytes the writer wrote (xxh3-64 of the little-endian
    elements; bfloat16 is an opaque 2-byte type to HDF5, bool h5py's enum)."""
    expected = json.loads(pathlib.Path(f"{tmp}/expected.json").read_text())["every_dtype.safetensors"]
    failures = []
    with h5py.File(f"{tmp}/every_dtype.h5", "r") as f:
        for name, want in expected.items():
            data = f[name][()]
            raw = data.tobytes() if data.dtype.kind == "V" else data.astype(data.dtype.newbyteorder("<")).tobytes()
            if list(f[name].shape) != want["shape"] or xxhash.xxh3_64(raw).hexdigest() != want["xxh3"]:
                failures.append(f"h5py: every_dtype.h5 {name}")
    raw = pathlib.Path(f"{tmp}/every_dtype_back.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    for name, want in expected.items():
        begin, end = header[name]["data_offsets"]
        if header[name]["dtype"] != want["dtype"] or xxhash.xxh3_64(raw[8 + n + begin:8 + n + end]).hexdigest() != want["xxh3"]:
            failures.append(f"parser: every_dtype_back.safetensors {name}")
    print("FAIL " + "; ".join(failures) if failures else
          f"ok   h5py and a parser of this script read the conversions of every_dtype.safetensors: {len(expected)} tensors as written")
    return failures


def check_documented_sessions(h5ser, make_files, documents, examples):
    """Runs every `$ h5ser ...` line that a code block of `documents` shows, on the files the tests
    write (and, for the flagship example's files, on those `examples` write), and requires the lines
    shown after it in its output (check_output.py's rules: `...` stands for any lines)."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "docs"))
    from check_output import pattern
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([make_files, tmp], check=True, capture_output=True)
        edit_with_h5py(f"{tmp}/model.h5", f"{tmp}/edited.h5")
        write_safetensors.main_into(tmp)
        for example in examples:  # the files it writes (in a folder of its own) sit beside the tests'
            out = pathlib.Path(tmp) / "example"
            out.mkdir()
            subprocess.run([example], cwd=out, check=True, capture_output=True)
            for written in out.glob("*/*.h5"):
                shutil.copy(written, pathlib.Path(tmp) / written.name)
        for document in documents:
            text = pathlib.Path(document).read_text(encoding="utf-8")
            for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M):
                lines = block.splitlines()
                starts = [i for i, line in enumerate(lines) if line.startswith("$ h5ser ")]
                for k, start in enumerate(starts):
                    shown = lines[start + 1:starts[k + 1] if k + 1 < len(starts) else len(lines)]
                    command = lines[start][2:]
                    run = subprocess.run([h5ser] + command.split()[1:], cwd=tmp, capture_output=True, text=True)
                    printed = run.stdout + (run.stderr if run.returncode != 0 else "")
                    label = f"{pathlib.Path(document).name}: $ {command}"
                    if re.search(pattern(shown), printed):
                        print(f"ok   {label} ({len(shown)} lines shown)")
                    else:
                        failures.append(label)
                        print(f"FAIL {label}: the lines shown are not in its output\n--- shown\n" + "\n".join(shown) +
                              f"\n--- printed\n{printed}")
    return failures


if __name__ == "__main__":
    sys.exit(main())
