"""Runs the loader fuzz target for a bounded time, then attributes every crash it found.

A crash whose innermost frame outside libc and the sanitizer runtime lies in libhdf5 is a known
limitation of the HDF5 library (reported, listed in README); a crash anywhere else (h5ser) fails.

    run_fuzz.py FUZZER CORPUS_MAKER WORKDIR SECONDS [CORPUS_KIND [FIXTURES_DIR]]

CORPUS_KIND "manifest" is passed to the corpus maker after the corpus directory (seeds for
fuzz_manifest). "seal": the corpus maker's h5ser files and the Keras fixtures' HDF5 files; "zip":
the fixtures' .keras archives; "json": their config.json and metadata.json, and the model_config
of the legacy Keras files (read with h5py); "safetensors": the files of
tests/safetensors/write_safetensors.py. FIXTURES_DIR holds keras/ (the shared fixtures).
"""
import os
import re
import shutil
import subprocess
import sys

FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (\S+) .*?\(([^)+]+)")
RUNTIME = ("libc.so", "libasan", "libubsan", "libclang_rt", "libstdc++", "ld-linux")


def culprit(report: str) -> str:
    for line in report.splitlines():
        m = FRAME.match(line)
        if not m:
            continue
        function, module = m.group(1), m.group(2)
        if any(r in module for r in RUNTIME) or function.startswith(("__asan", "__interceptor", "__sanitizer")):
            continue
        return "libhdf5" if "libhdf5" in module else f"{function} ({os.path.basename(module)})"
    return "unknown"


def keras_seeds(kind: str, fixtures: str, corpus: str) -> None:
    import zipfile
    if not os.path.isdir(fixtures):
        # As the other tests on real Keras files: skipped (with a note) when the fixtures are absent.
        print(f"note: no Keras fixtures in {fixtures}: fuzzing without their seeds")
        return
    names = sorted(os.listdir(fixtures))
    for name in names:
        path = os.path.join(fixtures, name)
        if kind == "seal" and name.endswith(".h5"):
            shutil.copy(path, os.path.join(corpus, name))
        elif kind == "zip" and name.endswith(".keras"):
            shutil.copy(path, os.path.join(corpus, name))
        elif kind == "json" and name.endswith(".keras"):
            with zipfile.ZipFile(path) as z:
                for member in ("config.json", "metadata.json"):
                    if member in z.namelist():
                        with open(os.path.join(corpus, f"{name}-{member}"), "wb") as out:
                            out.write(z.read(member))
        elif kind == "json" and name.endswith(".h5"):
            import h5py
            with h5py.File(path, "r") as f:
                config = f.attrs.get("model_config")
                if config is not None:
                    with open(os.path.join(corpus, f"{name}-model_config.json"), "wb") as out:
                        out.write(config if isinstance(config, bytes) else str(config).encode())


def main() -> int:
    fuzzer, maker, work, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    kind = sys.argv[5:6]
    shutil.rmtree(work, ignore_errors=True)
    corpus, artifacts = os.path.join(work, "corpus"), os.path.join(work, "artifacts") + "/"
    os.makedirs(corpus)
    os.makedirs(artifacts)
    if kind == ["safetensors"]:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "safetensors"))
        import write_safetensors
        write_safetensors.main_into(corpus)
        os.remove(os.path.join(corpus, "expected.json"))
    elif kind in (["seal"], ["zip"], ["json"]):
        keras_seeds(kind[0], os.path.join(sys.argv[6], "keras"), corpus)
        if kind == ["seal"]:
            subprocess.run([maker, corpus], check=True)
    else:
        subprocess.run([maker, corpus] + kind, check=True)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1", UBSAN_OPTIONS="print_stacktrace=1")
    run = subprocess.run([fuzzer, corpus, f"-max_total_time={seconds}", "-fork=1", "-ignore_crashes=1", "-ignore_ooms=1",
                          "-ignore_timeouts=1", "-timeout=20", "-rss_limit_mb=4096", f"-artifact_prefix={artifacts}"],
                         env=env, capture_output=True, text=True)
    stats = [l for l in run.stderr.splitlines() if "exec/s" in l]
    print(stats[-1] if stats else run.stderr[-2000:])
    in_hdf5, in_h5ser, hangs = [], [], []
    for name in sorted(os.listdir(artifacts)):
        path = os.path.join(artifacts, name)
        if name.startswith(("timeout-", "slow-unit-")):
            hangs.append(name)
            continue
        if not name.startswith(("crash-", "oom-", "leak-")):
            continue
        replay = subprocess.run([fuzzer, path], env=env, capture_output=True, text=True, timeout=120)
        where = culprit(replay.stderr)
        (in_hdf5 if where == "libhdf5" else in_h5ser).append((name, where, replay.stderr))
    print(f"fuzz findings: {len(in_hdf5)} crashes inside libhdf5 (known limitation), {len(hangs)} timeouts, "
          f"{len(in_h5ser)} crashes elsewhere")
    for name, where, report in in_h5ser:
        print(f"--- {name}: crash in {where}\n{report[-4000:]}")
    for name, _, report in in_hdf5[:3]:
        top = [l.strip() for l in report.splitlines() if FRAME.match(l)][:4]
        print(f"libhdf5 crash {name}: " + " | ".join(top))
    print(f"{0 if in_h5ser else 1} passed, {1 if in_h5ser else 0} failed")
    return 1 if in_h5ser else 0


if __name__ == "__main__":
    sys.exit(main())
