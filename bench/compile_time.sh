#!/usr/bin/env bash
# Compile cost of h5ser in a user's translation unit: CPU time (user + system) of `-O2 -c`, medians
# of N rounds, the variants of a round interleaved (this VM's speed drifts), each as a ratio against
# a baseline compiled in the same round: a translation unit that includes <vector>, <string>, <map>
# and <hdf5.h> and writes a dataset by hand (bench/compile_time/baseline.cpp).
#   - a 2-struct model (bench/compile_time/two_structs.cpp) that saves and loads, only saves, only
#     loads: header-only, and with the separately compiled core (H5SER_COMPILED_CORE, whose
#     src/h5ser.cpp a project compiles once; its own time is printed too);
#   - the same through the lean entry header <h5ser/core.hpp> (-DLEAN=1);
#   - a 50-field model that saves and loads (bench/compile_time/model50.cpp).
# Targets (issue "compile cost"): save + load at most 6x header-only, 3x with the compiled core; a
# load-only translation unit no costlier than a save-only one.
#     bash bench/compile_time.sh [compiler=g++] [rounds=5] [--syntax-only]
# --syntax-only: only checks that every variant compiles (CTest runs it so); its times are not the
# benchmark's.
set -euo pipefail
cd "$(dirname "$0")/.."
cxx=${1:-g++}
rounds=${2:-5}
flags=(-std=c++20 -O2 -DNDEBUG -Iinclude -isystem /usr/include/hdf5/serial -c -o /dev/null)
if [[ ${3:-} == --syntax-only ]]; then flags+=(-fsyntax-only); fi
names=(baseline both save load lean_both core_both core_save core_load core_lean_both model50 core_itself)
declare -A args=(
  [baseline]="bench/compile_time/baseline.cpp"
  [both]="-DSAVE=1 -DLOAD=1 bench/compile_time/two_structs.cpp"
  [save]="-DSAVE=1 bench/compile_time/two_structs.cpp"
  [load]="-DLOAD=1 bench/compile_time/two_structs.cpp"
  [lean_both]="-DLEAN=1 -DSAVE=1 -DLOAD=1 bench/compile_time/two_structs.cpp"
  [core_both]="-DH5SER_COMPILED_CORE -DSAVE=1 -DLOAD=1 bench/compile_time/two_structs.cpp"
  [core_lean_both]="-DH5SER_COMPILED_CORE -DLEAN=1 -DSAVE=1 -DLOAD=1 bench/compile_time/two_structs.cpp"
  [core_save]="-DH5SER_COMPILED_CORE -DSAVE=1 bench/compile_time/two_structs.cpp"
  [core_load]="-DH5SER_COMPILED_CORE -DLOAD=1 bench/compile_time/two_structs.cpp"
  [model50]="bench/compile_time/model50.cpp"
  [core_itself]="-DH5SER_COMPILED_CORE src/h5ser.cpp"
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cpu_seconds() {  # the compiler's user + system CPU time
  local out
  # shellcheck disable=SC2086
  out=$( { /usr/bin/time -f "%U %S" "$cxx" "${flags[@]}" $1 2>&1 >/dev/null; } 2>&1 | tail -1)
  awk '{ printf "%.3f\n", $1 + $2 }' <<<"$out"
}
for ((r = 1; r <= rounds; ++r)); do
  for name in "${names[@]}"; do
    t=$(cpu_seconds "${args[$name]}")
    echo "$t" >>"$work/$name"
    if [[ $name != baseline ]]; then
      awk -v t="$t" -v b="$(tail -1 "$work/baseline")" 'BEGIN { printf "%.3f\n", t / b }' >>"$work/$name.ratio"
    fi
  done
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
range() { sort -n "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
printf '%s -O2%s, CPU seconds, median of %d interleaved rounds; ratio to the baseline of the same round\n' "$cxx" "${3:+ $3}" "$rounds"
printf '%-66s %7ss\n' "baseline: <vector> <string> <map> <hdf5.h>, a dataset by hand" "$(median "$work/baseline")"
row() {  # name, label, target
  printf '%-66s %7ss  %6sx (%s)%s\n' "$2" "$(median "$work/$1")" "$(median "$work/$1.ratio")" "$(range "$work/$1.ratio")" "${3:+  target: $3}"
}
row both "2-struct model, save + load, header-only" "at most 6x"
row save "2-struct model, save only, header-only"
row load "2-struct model, load only, header-only" "no more than save only"
row lean_both "2-struct model, save + load, header-only, <h5ser/core.hpp>"
row core_both "2-struct model, save + load, compiled core" "at most 3x"
row core_save "2-struct model, save only, compiled core"
row core_load "2-struct model, load only, compiled core" "no more than save only"
row core_lean_both "2-struct model, save + load, compiled core, <h5ser/core.hpp>"
row model50 "50-field model, save + load, header-only"
row core_itself "the compiled core itself (src/h5ser.cpp, once per project)"
