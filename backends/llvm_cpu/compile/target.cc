// Target resolution (--cpu/--triple), the O3 pipeline, object/assembly emission and linking the
// object into a shared object the runtime library can map.
#include "backends/llvm_cpu/compile/target.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Program.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/Triple.h>
#include <llvm/Transforms/IPO/GlobalDCE.h>
#include <llvm/Transforms/IPO/SCCP.h>
#include <llvm/MC/MCSubtargetInfo.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

namespace dlc::llvm_cpu {

CpuTarget::CpuTarget() = default;
CpuTarget::CpuTarget(CpuTarget&&) noexcept = default;
CpuTarget::~CpuTarget() = default;

namespace {

void initializeLlvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
  });
}

// The features the runtime can check (runtime/src/cpu_features.cc), in its spelling.
const char* const kCheckable[] = {"sse4.2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq", "avx512vl",
                                  "avx512vnni", "avx512bf16"};

}  // namespace

Expected<CpuTarget> resolveCpuTarget(const std::string& cpu_option, const std::string& triple_option) {
  initializeLlvm();
  CpuTarget t;
  t.triple = triple_option.empty() ? llvm::sys::getDefaultTargetTriple() : triple_option;
  llvm::Triple triple(t.triple);
  if (triple.getArch() != llvm::Triple::x86_64 || !triple.isOSLinux())
    return Status::error(str("--triple ", t.triple, ": the cpu target generates code for x86_64 Linux only"));
  std::string error;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(t.triple, error);
  if (!target) return Status::error(str("--triple ", t.triple, ": ", error));

  std::string cpu = cpu_option.empty() ? "native" : cpu_option;
  if (cpu == "native") {
    t.cpu = llvm::sys::getHostCPUName().str();
    // The host's features, not its CPU model's: an OS or hypervisor may have switched some off.
    std::string features;
    for (const auto& f : llvm::sys::getHostCPUFeatures()) features += str(features.empty() ? "" : ",", f.second ? "+" : "-", f.first().str());
    t.features = features;
  } else {
    t.cpu = cpu;
  }
  llvm::TargetOptions options;
  t.machine.reset(target->createTargetMachine(t.triple, t.cpu, t.features, options, llvm::Reloc::PIC_, std::nullopt,
                                              llvm::CodeGenOptLevel::Aggressive));
  if (!t.machine) return Status::error(str("--cpu ", cpu, ": LLVM cannot generate code for it"));
  const llvm::MCSubtargetInfo* sti = t.machine->getMCSubtargetInfo();
  if (!sti->isCPUStringValid(t.cpu))
    return Status::error(str("--cpu ", cpu, ": not a CPU LLVM knows (try native, znver4, x86-64-v3, skylake-avx512)"));
  auto has = [&](const char* f) { return sti->checkFeatures(str("+", f)); };
  for (const char* f : kCheckable)
    if (has(f)) t.required.push_back(f);
  t.isa = has("avx512f") ? Isa::Avx512 : (has("avx2") && has("fma")) ? Isa::Avx2 : Isa::Generic;
  return t;
}

void optimizeModule(llvm::Module& module, const CpuTarget& target) {
  module.setTargetTriple(target.triple);
  module.setDataLayout(target.machine->createDataLayout());
  for (llvm::Function& f : module) {
    if (f.isDeclaration()) continue;
    f.removeFnAttr("target-cpu");
    f.removeFnAttr("target-features");
    f.removeFnAttr("tune-cpu");
    f.addFnAttr("target-cpu", target.cpu);
    if (!target.features.empty()) f.addFnAttr("target-features", target.features);
  }
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassBuilder pb(target.machine.get(), tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  // Kernels no segment calls go first, and so do the other vector ISAs' variants (IPSCCP folds
  // the branches on the constant dlc_cpu_isa), so O3 spends no time on them.
  llvm::ModulePassManager mpm;
  mpm.addPass(llvm::GlobalDCEPass());
  mpm.addPass(llvm::IPSCCPPass());
  mpm.addPass(llvm::GlobalDCEPass());
  mpm.addPass(pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3));
  mpm.run(module, mam);
}

Expected<std::string> emitCode(llvm::Module& module, const CpuTarget& target, FileKind kind) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream out(buffer);
  llvm::legacy::PassManager pm;
  auto type = kind == FileKind::Object ? llvm::CodeGenFileType::ObjectFile : llvm::CodeGenFileType::AssemblyFile;
  if (target.machine->addPassesToEmitFile(pm, out, nullptr, type))
    return Status::error("LLVM cannot emit this file type for the target");
  pm.run(module);
  return std::string(buffer.begin(), buffer.end());
}

std::string printModule(const llvm::Module& module) {
  std::string text;
  llvm::raw_string_ostream out(text);
  module.print(out, nullptr);
  return text;
}

Expected<std::string> linkSharedObject(const std::string& object) {
  const char* env = std::getenv("DLC_LINKER");
  std::string linker = env && *env ? env : DLC_CPU_LINKER;
  if (linker.find('/') == std::string::npos) {
    auto found = llvm::sys::findProgramByName(linker);
    if (!found) return Status::error(str("cannot find the linker '", linker, "' (set DLC_LINKER to a C compiler driver)"));
    linker = *found;
  }
  llvm::SmallString<128> obj_path, so_path;
  if (llvm::sys::fs::createTemporaryFile("dlc-cpu", "o", obj_path) || llvm::sys::fs::createTemporaryFile("dlc-cpu", "so", so_path))
    return Status::error("cannot create temporary files for linking");
  struct Cleanup {
    std::string a, b;
    ~Cleanup() {
      llvm::sys::fs::remove(a);
      llvm::sys::fs::remove(b);
    }
  } cleanup{obj_path.str().str(), so_path.str().str()};
  {
    std::ofstream out(obj_path.c_str(), std::ios::binary);
    out.write(object.data(), static_cast<std::streamsize>(object.size()));
    if (!out) return Status::error("cannot write the object file for linking");
  }
  std::vector<llvm::StringRef> args{linker, "-shared", "-o", so_path, obj_path, "-Wl,-z,noexecstack", "-Wl,--as-needed"};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(linker, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0)
    return Status::error(str("linking the native code with '", linker, "' failed", message.empty() ? "" : ": ", message));
  std::ifstream in(so_path.c_str(), std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  if (!in && !in.eof()) return Status::error("cannot read the linked shared object");
  return bytes.str();
}

}  // namespace dlc::llvm_cpu
