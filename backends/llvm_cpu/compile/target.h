// The machine a CPU artifact is compiled for (--cpu, --triple), and LLVM's code emission for it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/status.h"

namespace llvm {
class Module;
class TargetMachine;
}  // namespace llvm

namespace dlc::llvm_cpu {

// Vector ISA levels the kernels know (dlc_cpu_isa in the generated module).
enum class Isa { Generic = 0, Avx2 = 1, Avx512 = 2 };

struct CpuTarget {
  std::string triple;
  std::string cpu;       // LLVM's name: znver4, x86-64-v3, ... (native resolved to the host's)
  std::string features;  // LLVM feature string ("+avx2,-avx512f,..."), empty for a named CPU
  Isa isa = Isa::Generic;
  std::vector<std::string> required;  // features the runtime checks at load (runtime/src/cpu_features.cc)
  std::unique_ptr<llvm::TargetMachine> machine;
  CpuTarget();
  CpuTarget(CpuTarget&&) noexcept;
  ~CpuTarget();
};

// `cpu`: "native" (default), or any CPU LLVM knows; `triple`: default the host's. Only x86-64 ELF
// targets (Linux) are supported: the runtime loads ELF shared objects and the kernels' parameter
// structs are laid out for the x86-64 System V ABI.
Expected<CpuTarget> resolveCpuTarget(const std::string& cpu, const std::string& triple);

// Sets the target's CPU and features on every function of `module` (kernels compiled for no CPU
// in particular included) and runs LLVM's O3 pipeline over it.
void optimizeModule(llvm::Module& module, const CpuTarget& target);

enum class FileKind { Object, Assembly };
Expected<std::string> emitCode(llvm::Module& module, const CpuTarget& target, FileKind kind);
std::string printModule(const llvm::Module& module);

// Links an object file into an ELF shared object with the system's C compiler driver (the one
// dlc was built with, or $DLC_LINKER); the result depends on libc only.
Expected<std::string> linkSharedObject(const std::string& object);

}  // namespace dlc::llvm_cpu
