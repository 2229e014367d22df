#!/usr/bin/env bash
# Installs the Debian packages h5ser's build, tests and examples need, only those that are missing.
# --without-torch leaves out libtorch-dev (about 1 GB with its dependencies), which only the
# libtorch adapter's tests and benchmark need.
set -euo pipefail
packages=(cmake make g++ clang-14 clang-format-14 libclang-rt-14-dev pkg-config libhdf5-dev hdf5-tools libboost1.81-dev doctest-dev libxxhash-dev libzip-dev libcli11-dev libhdf5-openmpi-dev openmpi-bin
          hdf5-filter-plugin hdf5-filter-plugin-blosc-serial python3 python3-h5py python3-numpy python3-xxhash libeigen3-dev
          libxtensor-dev libcurl4-openssl-dev nginx-light curl openssl)
[[ ${1:-} == --without-torch ]] || packages+=(libtorch-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup-debian: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
