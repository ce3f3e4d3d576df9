#ifndef RECSYS_COMMON_BASE_CPU_ENV_H_
#define RECSYS_COMMON_BASE_CPU_ENV_H_

// Environment settings that the math libraries read once, when they load,
// and whose defaults cost most of this machine's speed:
//
//  - OPENBLAS_CORETYPE: Debian's OpenBLAS 0.3.21 does not recognise newer
//    Xeons (cpuid model name "Intel(R) Xeon(R) Processor") and falls back to
//    its generic Prescott kernels, ~4x slower than its AVX-512 (SkylakeX)
//    ones (measured 24-31 vs 100-130 GFLOP/s sgemm on one core). The CPU's
//    own feature flags say which kernels are safe: SkylakeX with AVX-512
//    F/BW/DQ/VL, Haswell with AVX2 and FMA.
//  - OMP_WAIT_POLICY=PASSIVE: libgomp's idle threads otherwise spin and take
//    the cores from OpenBLAS's and gRPC's threads.
//
// A value the user set is kept. The process re-executes itself once so that
// the libraries see the values (they are already loaded at main()).

namespace recsys {

// The OpenBLAS core type this CPU can run ("SkylakeX", "Haswell"), or
// nullptr to let OpenBLAS decide.
const char* OpenBlasCoreTypeForThisCpu();

// Sets what is unset and re-executes `argv` once (/proc/self/exe); returns
// (without re-executing) if nothing needed setting or exec fails.
void ReexecWithTunedCpuEnvironment(char** argv);

}  // namespace recsys

#endif  // RECSYS_COMMON_BASE_CPU_ENV_H_
