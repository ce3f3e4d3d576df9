#include "common/base/cpu_env.h"

#include <cstdlib>

#include <unistd.h>

namespace recsys {

const char* OpenBlasCoreTypeForThisCpu() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

void ReexecWithTunedCpuEnvironment(char** argv) {
  // Guards against a loop if the variables cannot be set.
  if (std::getenv("RECSYS_CPU_ENV") != nullptr) return;
  bool changed = false;
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    changed = true;
  }
  const char* core = OpenBlasCoreTypeForThisCpu();
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr && core != nullptr) {
    setenv("OPENBLAS_CORETYPE", core, 1);
    changed = true;
  }
  setenv("RECSYS_CPU_ENV", "1", 1);
  if (changed) execv("/proc/self/exe", argv);  // Returns only on failure: carry on.
}

}  // namespace recsys
