#!/usr/bin/env bash
# Compile time of a translation unit that saves and loads a 50-field model (bench/compile_time/
# model50.cpp) against one that only includes <hdf5.h> (baseline.cpp): medians of 5 compilations
# each, with the flags CMake's Release build uses.
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
    "$cxx" "${flags[@]}" "$1"
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
  done | median
}
base=$(time_of bench/compile_time/baseline.cpp)
model=$(time_of bench/compile_time/model50.cpp)
printf '%-44s %8.2f s\n' "<hdf5.h> only ($cxx -O3)" "$base"
printf '%-44s %8.2f s\n' "h5ser save + load of a 50-field model" "$model"
printf '%-44s %+8.2f s  (target: at most +3 s)\n' "difference" "$(awk -v a="$base" -v b="$model" 'BEGIN { print b - a }')"
