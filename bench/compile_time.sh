#!/usr/bin/env bash
# Compile time of a translation unit that saves and loads a 50-field model (bench/compile_time/
# model50.cpp) against one that only includes <hdf5.h> (baseline.cpp): medians of N compilations
# each, with the flags CMake's Release build uses. Measured twice: header-only (the default), and
# with the separately compiled core (h5ser::compiled, H5SER_COMPILED_CORE), whose src/h5ser.cpp a
# project compiles once, not per translation unit (its time is printed too).
#     bash bench/compile_time.sh [compiler=g++] [repetitions=5]
set -euo pipefail
cd "$(dirname "$0")/.."
cxx=${1:-g++}
reps=${2:-5}
flags=(-std=c++20 -O3 -DNDEBUG -Iinclude -isystem /usr/include/hdf5/serial -c -o /dev/null)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_of() {
  for _ in $(seq "$reps"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$cxx" "${flags[@]}" "$@"
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
  done | median
}
diff_of() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }
base=$(time_of bench/compile_time/baseline.cpp)
header_only=$(time_of bench/compile_time/model50.cpp)
compiled=$(time_of -DH5SER_COMPILED_CORE bench/compile_time/model50.cpp)
core=$(time_of -DH5SER_COMPILED_CORE src/h5ser.cpp)
printf '%-58s %8.2f s\n' "<hdf5.h> only ($cxx -O3, median of $reps)" "$base"
printf '%-58s %8.2f s  %+6.2f s\n' "50-field model, header-only" "$header_only" "$(diff_of "$base" "$header_only")"
printf '%-58s %8.2f s  %+6.2f s  (target: at most +3 s)\n' "50-field model, compiled core (H5SER_COMPILED_CORE)" "$compiled" "$(diff_of "$base" "$compiled")"
printf '%-58s %8.2f s  (once per project)\n' "the compiled core itself (src/h5ser.cpp)" "$core"
