// The process-wide table of kernel libraries, looked up by the id artifacts name.
#include <cstring>
#include <mutex>

#include "runtime/src/internal.h"

namespace {
std::mutex& registryMutex() {
  static std::mutex m;
  return m;
}
std::vector<const dlc_kernel_library*>& registry() {
  static std::vector<const dlc_kernel_library*> libraries;
  return libraries;
}
}  // namespace

extern "C" {

dlc_status dlc_kernel_library_register(const dlc_kernel_library* library) {
  using dlc::rt::makeStatus;
  if (!library || !library->id || !library->step_prepare || !library->step_run || !library->step_release)
    return makeStatus(DLC_INVALID_ARGUMENT, "kernel library: id and all three functions are required");
  if (library->abi_version != DLC_KERNEL_ABI_VERSION)
    return makeStatus(DLC_UNSUPPORTED, dlc::rt::format("kernel library '%s' was built for kernel ABI %u, this runtime has %d",
                                                       library->id, library->abi_version, DLC_KERNEL_ABI_VERSION));
  std::lock_guard<std::mutex> lock(registryMutex());
  for (const dlc_kernel_library* l : registry()) {
    if (std::strcmp(l->id, library->id) != 0) continue;
    if (l == library) return nullptr;
    return makeStatus(DLC_INVALID_ARGUMENT, dlc::rt::format("kernel library '%s' is already registered", library->id));
  }
  registry().push_back(library);
  return nullptr;
}

const dlc_kernel_library* dlc_kernel_library_find(const char* id) {
  if (!id) return nullptr;
  std::lock_guard<std::mutex> lock(registryMutex());
  for (const dlc_kernel_library* l : registry())
    if (std::strcmp(l->id, id) == 0) return l;
  return nullptr;
}

}  // extern "C"
