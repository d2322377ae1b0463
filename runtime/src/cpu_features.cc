// CPU features an artifact may require, checked against this machine before any code runs.
#include "runtime/src/internal.h"

namespace dlc::rt {

bool cpuHasFeature(const std::string& name, bool* known) {
  *known = true;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (name == "sse4.2") return __builtin_cpu_supports("sse4.2");
  if (name == "avx") return __builtin_cpu_supports("avx");
  if (name == "avx2") return __builtin_cpu_supports("avx2");
  if (name == "fma") return __builtin_cpu_supports("fma");
  if (name == "f16c") return __builtin_cpu_supports("f16c");
  if (name == "avx512f") return __builtin_cpu_supports("avx512f");
  if (name == "avx512bw") return __builtin_cpu_supports("avx512bw");
  if (name == "avx512dq") return __builtin_cpu_supports("avx512dq");
  if (name == "avx512vl") return __builtin_cpu_supports("avx512vl");
  if (name == "avx512vnni") return __builtin_cpu_supports("avx512vnni");
  if (name == "avx512bf16") return __builtin_cpu_supports("avx512bf16");
#endif
  *known = false;
  return false;
}

}  // namespace dlc::rt
