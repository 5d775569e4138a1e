# Shared by scripts/demo.sh and scripts/test.sh: installs what is missing on a
# Debian 12 machine, then configures and builds ampc.

AMPC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AMPC_BUILD_DIR=${AMPC_BUILD_DIR:-$AMPC_ROOT/build}
LLVM_PREFIX=/usr/lib/llvm-22
# Debian's python3 (lit and the tests use its numpy); a pyenv shim may shadow it.
AMPC_PYTHON=/usr/bin/python3

AMPC_PACKAGES=(
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  libgtest-dev cmake ninja-build g++ python3 python3-numpy python3-pytest python3-sklearn
  # The CPU runtime: oneDNN and the OpenMP runtime it shares with generated loops.
  libdnnl-dev libomp-22-dev
  # Data parallelism (--data-parallel=mpi): Debian's OpenMPI, whose mpirun the tests launch.
  libopenmpi-dev openmpi-bin
  # libLLVM's CMake package looks these up; without them configuration warns.
  libzstd-dev libcurl4-openssl-dev zlib1g-dev libxml2-dev libedit-dev libffi-dev
)

ampc_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ampc_install_packages() {
  local missing=()
  for pkg in "${AMPC_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: missing packages (${missing[*]}) and not root" >&2; return 1; }
    sudo=sudo
  fi
  ampc_log "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ampc_build() {
  ampc_install_packages
  if [ ! -f "$AMPC_BUILD_DIR/build.ninja" ]; then
    ampc_log "configuring $AMPC_BUILD_DIR"
    cmake -G Ninja -S "$AMPC_ROOT" -B "$AMPC_BUILD_DIR" \
      -DCMAKE_BUILD_TYPE=Release \
      -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
      -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" \
      -DPython3_EXECUTABLE="$AMPC_PYTHON" >/dev/null
  fi
  ampc_log "building"
  cmake --build "$AMPC_BUILD_DIR" -- -j"$(nproc)" "$@"
}
