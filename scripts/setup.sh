#!/bin/bash
# Idempotent machine set-up for fqdnkit: Debian packages, kernel-header links for bcc,
# bpffs, and the Python virtual environment at .venv/. Safe to run again; does nothing
# that is already done. Must run as root (it installs packages and mounts bpffs).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  clang-19 llvm-19 lld-19          # BPF C -> BPF objects (clang -target bpf), llvm-objdump
  libbpf-dev libelf-dev zlib1g-dev # libbpf headers (bpf_helpers.h) and libbpf.so used through ctypes
  bpftool                          # reference loader for the load-time benchmark, pin inspection
  python3-bpfcc bpfcc-tools        # bcc, for `fqdnkit check --bcc`
  linux-headers-amd64              # kernel headers bcc compiles against
  python3-venv make pkg-config
  iproute2 dnsutils unbound dnsperf # network namespaces, dig, resolver and load generator for tests
  qemu-system-x86 busybox-static cpio # booting other Debian kernels for the verifier matrix
)

if [ "$(id -u)" != 0 ]; then
  echo "setup.sh: must run as root (installs packages, mounts bpffs)" >&2
  exit 2
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# bcc compiles against /lib/modules/$(uname -r)/build; the running kernel is not a Debian
# one, so link the Debian headers package in (Debian's python3-bpfcc is 0.26).
krel="$(uname -r)"
hdr="$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -1)"
common="${hdr%-amd64}-common"
if [ -n "$hdr" ]; then
  mkdir -p "/lib/modules/$krel"
  [ -e "/lib/modules/$krel/build" ] || ln -sfn "$hdr" "/lib/modules/$krel/build"
  [ -e "/lib/modules/$krel/source" ] || ln -sfn "$common" "/lib/modules/$krel/source"
fi

# bpffs for pins (the enforcer pins under /sys/fs/bpf/fqdnkit).
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# The venv uses Debian's python3 so that Debian's bcc module can be linked in: bcc on
# PyPI is an unrelated package. Only the bcc package is exposed, through a .pth file.
if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.installed ]; then
  [ -x .venv/bin/python ] || /usr/bin/python3 -m venv .venv
  site="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  mkdir -p .venv/debian-bcc
  ln -sfn /usr/lib/python3/dist-packages/bcc .venv/debian-bcc/bcc
  echo "$(pwd)/.venv/debian-bcc" > "$site/debian_bcc.pth"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  touch .venv/.installed
fi
