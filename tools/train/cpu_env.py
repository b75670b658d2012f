"""cpu_env.py: thread and BLAS settings for training on CPU. Import it before numpy or torch.

* One BLAS/OpenMP thread per process unless the environment says otherwise (train.py runs one process
  per model, on its own core).
* OPENBLAS_CORETYPE: Debian 12's OpenBLAS 0.3.21 (DYNAMIC_ARCH) identifies the CPU by its CPUID model
  number; on a CPU it does not know -- measured on the project's VMs, which report
  "Intel(R) Xeon(R) Processor" with AVX-512 (Sapphire Rapids) -- it falls back to its Prescott (SSE3)
  kernels, and sgemm runs at ~12 GFLOP/s on one core instead of ~85 (SkylakeX kernels). The whole
  training step was 2.7x slower. We choose the kernel set from the CPU flags instead: AVX-512
  (F/CD/BW/DQ/VL) -> SkylakeX, AVX2+FMA -> Haswell (what OpenBLAS itself uses for those and for AMD
  Zen). An OPENBLAS_CORETYPE already in the environment wins.
"""
import ctypes
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")


def cpu_flags(path="/proc/cpuinfo"):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def openblas_coretype(flags):
    if {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        return "SkylakeX"
    if {"avx2", "fma"} <= flags:
        return "Haswell"
    return None


_ct = openblas_coretype(cpu_flags())
if _ct and "OPENBLAS_CORETYPE" not in os.environ:
    os.environ["OPENBLAS_CORETYPE"] = _ct


def blas_info():
    """'OpenBLAS <core>' for the OpenBLAS loaded in this process (call after importing torch), else None."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "libopenblas" in line}
    except OSError:
        return None
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return "OpenBLAS %s" % lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return None
