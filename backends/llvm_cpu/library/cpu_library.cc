// The LLVM CPU backend's runtime library: maps an artifact's compiled segments (an ELF shared
// object in its native-code section) with the system's dynamic loader, repacks each segment's
// weights once at load, and runs segments on the session's workspace and thread pool.
#include "dlc_kernels_cpu.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kernels.h"

namespace {

constexpr const char* kFormat = "elf-shared-object";

int fail(char* error, size_t size, const std::string& message) {
  if (size) std::snprintf(error, size, "%s", message.c_str());
  return 1;
}

// One loaded shared object per artifact, shared by its steps (keyed by the section's bytes, which
// live as long as the model).
struct LoadedCode {
  void* handle = nullptr;
  int fd = -1;  // the memory file, open while loaded (see openSharedObject)
  int refs = 0;
};
std::mutex g_mutex;
std::map<const uint8_t*, LoadedCode> g_loaded;

// dlopen needs a file: the bytes go to an anonymous memory file, never to disk. The file stays
// open while the library is loaded: dlopen recognises an object it already has by its path, so
// had the descriptor been closed, the next model's memory file would get the same number, the
// same "/proc/self/fd/N", and dlopen would hand back the first model's code (seen: a model
// compiled for batch 16 running the batch-64 code of the one loaded before it).
void* openSharedObject(const uint8_t* data, size_t size, int* fd_out, std::string& error) {
  int fd = memfd_create("dlc-native-code", MFD_CLOEXEC);
  if (fd < 0) {
    error = std::string("memfd_create failed: ") + std::strerror(errno);
    return nullptr;
  }
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) {
      error = std::string("cannot write the native code to memory: ") + std::strerror(errno);
      close(fd);
      return nullptr;
    }
    done += static_cast<size_t>(n);
  }
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    error = std::string("the native code does not load: ") + (why ? why : "dlopen failed");
    close(fd);
    return nullptr;
  }
  *fd_out = fd;
  return handle;
}

void unload(LoadedCode& loaded) {
  dlclose(loaded.handle);
  if (loaded.fd >= 0) close(loaded.fd);
}

void* acquire(const dlc_native_code& code, std::string& error) {
  std::lock_guard<std::mutex> lock(g_mutex);
  LoadedCode& loaded = g_loaded[code.data];
  if (!loaded.handle) {
    loaded.handle = openSharedObject(code.data, code.size, &loaded.fd, error);
    if (!loaded.handle) {
      g_loaded.erase(code.data);
      return nullptr;
    }
    const int32_t* abi = static_cast<const int32_t*>(dlsym(loaded.handle, "dlc_cpu_abi_version"));
    if (!abi || *abi != DLC_CPU_ABI_VERSION) {
      error = "the native code was built for another version of the CPU kernel interface";
      unload(loaded);
      g_loaded.erase(code.data);
      return nullptr;
    }
  }
  ++loaded.refs;
  return loaded.handle;
}

void release(const uint8_t* key) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_loaded.find(key);
  if (it == g_loaded.end()) return;
  if (--it->second.refs == 0) {
    unload(it->second);
    g_loaded.erase(it);
  }
}

using RunFn = void (*)(const dlc_cpu_call*);
using PackFn = void (*)(const void* const* inputs, void* packed);
using SizeFn = size_t (*)(void);
using WorkspaceFn = size_t (*)(int32_t threads);

struct PreparedStep {
  const uint8_t* code_key = nullptr;
  RunFn run = nullptr;
  WorkspaceFn workspace_bytes = nullptr;
  void* packed = nullptr;
  std::vector<dlc_tensor_info> outputs;
  std::vector<std::vector<int64_t>> output_dims;
  int32_t num_inputs = 0;
  ~PreparedStep() {
    std::free(packed);
    if (code_key) release(code_key);
  }
};

// The payload names the segment's symbol prefix: "segment=dlc_seg3".
bool symbolPrefix(const dlc_step_info& step, std::string& prefix) {
  std::string text(reinterpret_cast<const char*>(step.payload), step.payload_size);
  const std::string key = "segment=";
  if (text.compare(0, key.size(), key) != 0) return false;
  prefix = text.substr(key.size());
  while (!prefix.empty() && (prefix.back() == '\n' || prefix.back() == ' ')) prefix.pop_back();
  if (prefix.empty() || prefix.size() > 64) return false;
  for (char c : prefix)
    if (!(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  return true;
}

int stepPrepare(const dlc_step_info* step, void** out_state, char* error, size_t error_size) {
  if (!step->kernel || std::strcmp(step->kernel, "segment") != 0)
    return fail(error, error_size, std::string("unknown kernel '") + (step->kernel ? step->kernel : "") + "'");
  std::string prefix;
  if (!symbolPrefix(*step, prefix)) return fail(error, error_size, "malformed payload (expected segment=NAME)");
  const dlc_native_code* code = nullptr;
  for (int32_t i = 0; i < step->num_native_code; ++i)
    if (std::strcmp(step->native_code[i].format, kFormat) == 0) code = &step->native_code[i];
  if (!code || !code->data || code->size == 0) return fail(error, error_size, "the artifact has no native code section");
  for (int32_t o = 0; o < step->num_outputs; ++o)
    for (int32_t d = 0; d < step->outputs[o].rank; ++d)
      if (step->outputs[o].rank < 0 || step->outputs[o].dims[d] < 0)
        return fail(error, error_size, "compiled segments have static output shapes");

  auto* prepared = new PreparedStep();
  std::string why;
  void* handle = acquire(*code, why);
  if (!handle) {
    delete prepared;
    return fail(error, error_size, why);
  }
  prepared->code_key = code->data;
  prepared->run = reinterpret_cast<RunFn>(dlsym(handle, (prefix + "_run").c_str()));
  prepared->workspace_bytes = reinterpret_cast<WorkspaceFn>(dlsym(handle, (prefix + "_workspace_bytes").c_str()));
  auto packed_bytes = reinterpret_cast<SizeFn>(dlsym(handle, (prefix + "_packed_bytes").c_str()));
  auto pack = reinterpret_cast<PackFn>(dlsym(handle, (prefix + "_pack").c_str()));
  if (!prepared->run || !prepared->workspace_bytes || !packed_bytes || !pack) {
    delete prepared;
    return fail(error, error_size, "the native code has no segment '" + prefix + "'");
  }
  // Weights are repacked once, here, into the layouts the kernels read.
  std::vector<const void*> constants(static_cast<size_t>(step->num_inputs));
  for (int32_t i = 0; i < step->num_inputs; ++i) constants[static_cast<size_t>(i)] = step->constants ? step->constants[i].data : nullptr;
  size_t bytes = packed_bytes();
  if (bytes) {
    prepared->packed = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!prepared->packed) {
      delete prepared;
      return fail(error, error_size, "out of memory for packed weights");
    }
    pack(constants.data(), prepared->packed);
  }
  prepared->num_inputs = step->num_inputs;
  for (int32_t o = 0; o < step->num_outputs; ++o) {
    prepared->outputs.push_back(step->outputs[o]);
    prepared->output_dims.emplace_back(step->outputs[o].dims, step->outputs[o].dims + step->outputs[o].rank);
  }
  *out_state = prepared;
  return 0;
}

int stepRun(void* state, const dlc_kernel_io* io, char* error, size_t error_size) {
  auto* step = static_cast<PreparedStep*>(state);
  void* args_small[32];
  std::vector<void*> args_big;
  size_t count = static_cast<size_t>(step->num_inputs) + step->outputs.size();
  void** args = args_small;
  if (count > 32) {
    args_big.resize(count);
    args = args_big.data();
  }
  for (int32_t i = 0; i < step->num_inputs; ++i) args[i] = io->inputs[i].data;
  for (size_t o = 0; o < step->outputs.size(); ++o) {
    const auto& dims = step->output_dims[o];
    void* p = io->output_allocate(io->runtime, static_cast<int32_t>(o), step->outputs[o].dtype,
                                  static_cast<int32_t>(dims.size()), dims.data());
    if (!p) return fail(error, error_size, "cannot allocate the output");
    args[static_cast<size_t>(step->num_inputs) + o] = p;
  }
  int32_t threads = io->threads > 0 ? io->threads : 1;
  size_t bytes = step->workspace_bytes(threads);
  void* workspace = bytes ? io->workspace(io->runtime, bytes) : nullptr;
  if (bytes && !workspace) return fail(error, error_size, "out of memory for the step's workspace");
  dlc_cpu_call call{args, step->packed, workspace, io->runtime, io->parallel_for, threads, 0};
  step->run(&call);
  return 0;
}

void stepRelease(void* state) { delete static_cast<PreparedStep*>(state); }

const dlc_kernel_library kLibrary{DLC_KERNEL_ABI_VERSION, "cpu", stepPrepare, stepRun, stepRelease, 0};

}  // namespace

extern "C" {
const dlc_kernel_library* dlc_kernels_cpu(void) { return &kLibrary; }
dlc_status dlc_kernels_cpu_register(void) { return dlc_kernel_library_register(&kLibrary); }
}
