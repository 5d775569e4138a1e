#!/usr/bin/env python3
"""Assembles every kernel module of an `ampc --emit=ptx` file with ptxas.

  check_ptx.py PTXAS FILE.ptx ARCH
Prints 'N kernel modules assembled' or the first ptxas error (exit 1)."""
import subprocess
import sys
import tempfile


def main():
    ptxas, path, arch = sys.argv[1:4]
    modules = [m for m in open(path).read().split("// ampc: gpu.module") if ".entry" in m]
    for i, module in enumerate(modules):
        with tempfile.NamedTemporaryFile("w", suffix=".ptx") as f:
            f.write(module.split("\n", 1)[1])
            f.flush()
            result = subprocess.run([ptxas, "-arch=" + arch, f.name, "-o", "/dev/null"],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                print("module %d: %s" % (i, result.stderr))
                return 1
    print("%d kernel modules assembled" % len(modules))
    return 0


if __name__ == "__main__":
    sys.exit(main())
