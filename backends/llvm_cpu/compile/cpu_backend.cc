// The cpu target of `dlc compile`: runs of consecutive ops with a lowering become one segment
// each; all segments go into one LLVM module together with the kernel library's bitcode, which is
// specialized for the target CPU, optimized as a whole (O3), emitted as an object and linked into
// the shared object the artifact carries.
#include "backends/llvm_cpu/compile/cpu_backend.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "backends/llvm_cpu/compile/emitter.h"
#include "backends/llvm_cpu/compile/module.h"
#include "backends/llvm_cpu/compile/target.h"
#include "backends/llvm_cpu/kernels/kernels.h"
#include "backends/trials.h"

extern "C" const char dlc_cpu_kernels_bitcode[];
extern "C" const char dlc_cpu_kernels_bitcode_end[];

namespace dlc::llvm_cpu {

using backends::Segment;
using backends::Trial;

namespace {

bool disabled(const Op& op) {
  if (const char* off = std::getenv("DLC_CPU_DISABLE"))  // debugging: ops left to the reference kernels
    if (std::string(",").append(off).append(",").find(str(",", op.name(), ",")) != std::string::npos) return true;
  return false;
}

bool explained(const Status& s) {
  if (!s.ok() && std::getenv("DLC_CPU_EXPLAIN")) std::fprintf(stderr, "cpu: %s\n", s.message().c_str());
  return s.ok();
}

// An op whose types are not static: code reading its sizes from the run table, checked at every
// trial size (the same code for all of them).
Status checkAtTrials(const Op& op, const std::vector<Trial>& trials) {
  const Lowering* lowering = loweringFor(op.kind());
  if (!lowering || !lowering->emit_symbolic) return Status::error(str(where(op), ": no code for symbolic sizes"));
  if (trials.empty()) return Status::error(str(where(op), ": its types are not static and no trial sizes of the inputs infer"));
  std::vector<int64_t> signature;
  for (const Trial& t : trials) {
    auto it = t.ops.find(&op);
    if (it == t.ops.end()) return Status::error(str(where(op), ": not in the trial graph"));
    const Op& sized = *it->second;
    if (!backends::opIsStatic(sized)) return Status::error(str(where(op), ": a type stays unknown ", t.what, " (it depends on values)"));
    DLC_RETURN_IF_ERROR(lowering->check(sized).withContext(t.what));
    PlanBlocks blocks;
    DLC_RETURN_IF_ERROR(planOpBlocks(op, sized, isConstantOp, blocks).withContext(t.what));
    if (&t != &trials.front() && blocks.signature != signature)
      return Status::error(str(where(op), ": its code would differ between trial sizes"));
    signature = blocks.signature;
  }
  return Status::success();
}

// The segment's ops at the first trial's sizes, and its outputs there.
SymbolicSegment sizedSegment(const std::vector<const Op*>& ops, const Trial& trial) {
  SymbolicSegment sized;
  for (const Op* op : ops) sized.sized.push_back(trial.ops.at(op));
  for (const Value* v : backends::segmentOutputs(ops))
    sized.sized_outputs.insert(trial.ops.at(v->definingOp())->result(v->index()));
  return sized;
}

bool segmentIsSymbolic(const Segment& seg) {
  return std::any_of(seg.ops.begin(), seg.ops.end(), [](const Op* op) { return !backends::opIsStatic(*op); });
}

}  // namespace

// Whether `op` lowers, and why not (DLC_CPU_EXPLAIN=1 prints the reason).
bool lowers(const Op& op) {
  if (disabled(op)) return false;
  const Lowering* lowering = loweringFor(op.kind());
  return explained(lowering ? lowering->check(op) : Status::error(str(where(op), ": no lowering")));
}

std::vector<Segment> planSegments(const Graph& graph, const std::function<bool(const Op&)>& take, const std::vector<Trial>* trials) {
  std::vector<Segment> segments;
  std::vector<const Op*> run;
  bool run_symbolic = false;
  auto flush = [&] {
    if (run.empty()) return;
    std::string prefix = str("dlc_seg", segments.size());
    if (std::getenv("DLC_CPU_EXPLAIN")) {
      std::string names;
      for (const Op* op : run) names += str(" ", op->name(), "'", op->location(), "'");
      std::fprintf(stderr, "cpu: %s:%s\n", prefix.c_str(), names.c_str());
    }
    segments.push_back({run, backends::StepCode{"cpu", "segment", str("segment=", prefix)}});
    run.clear();
  };
  // DLC_CPU_SPLIT=1: one op per segment, so `dlc bench --profile` times every op.
  const bool split = std::getenv("DLC_CPU_SPLIT") != nullptr;
  // A segment is all static or all read from the run table: ops of the two kinds do not mix.
  for (const auto& op : graph.body().ops()) {
    if (op->kind() == OpKind::Constant) continue;  // weights: a segment goes on past them
    const bool symbolic = !backends::opIsStatic(*op);
    bool lowered = (!take || take(*op)) && !disabled(*op) &&
                   (symbolic ? trials && explained(checkAtTrials(*op, *trials)) : lowers(*op));
    if (lowered) {
      if (!run.empty() && run_symbolic != symbolic) flush();
      run_symbolic = symbolic;
      run.push_back(op.get());
      if (split) flush();
    } else {
      flush();
    }
  }
  flush();
  return segments;
}

// The kernel library's bitcode as the module, the segments' entry points added to it, and
// everything but the entry points internal (so what no segment calls is dropped).
Expected<BuiltModule> buildModule(std::vector<Segment>& segments, const CpuTarget& target, const std::vector<Trial>* trials) {
  BuiltModule built;
  built.context = std::make_unique<llvm::LLVMContext>();
  llvm::StringRef bytes(dlc_cpu_kernels_bitcode, static_cast<size_t>(dlc_cpu_kernels_bitcode_end - dlc_cpu_kernels_bitcode));
  auto parsed = llvm::parseBitcodeFile(llvm::MemoryBufferRef(bytes, "dlc_cpu_kernels.bc"), *built.context);
  if (!parsed) {
    std::string message = llvm::toString(parsed.takeError());
    return Status::error(str("the embedded CPU kernel library does not load: ", message));
  }
  built.module = std::move(*parsed);
  llvm::Module& m = *built.module;
  // Whole kernels stay calls: inlining each of resnet50's 53 convolutions into its segment gave
  // 17 MB of IR and 6 s of code generation. (Size queries and the scalar math still inline: the
  // former fold to constants, the latter must, for elementwise loops to vectorize.)
  for (const char* name : {"dlc_k_conv", "dlc_k_conv_pack", "dlc_k_matmul", "dlc_k_matmul_pack_b", "dlc_k_matmul_nbits", "dlc_k_matmul_nbits_pack",
                           "dlc_k_matmul_sparse", "dlc_k_matmul_sparse_pack", "dlc_k_conv_sparse", "dlc_k_conv_sparse_pack", "dlc_k_pool2d",
                           "dlc_k_row_mean", "dlc_k_channel_affine", "dlc_k_softmax", "dlc_k_layernorm", "dlc_k_attention", "dlc_k_copy"})
    if (llvm::Function* f = m.getFunction(name)) f->addFnAttr(llvm::Attribute::NoInline);
  m.setModuleIdentifier("dlc_model");
  auto* i32 = llvm::Type::getInt32Ty(*built.context);
  llvm::GlobalVariable* isa = m.getGlobalVariable("dlc_cpu_isa");
  if (!isa) isa = new llvm::GlobalVariable(m, i32, true, llvm::GlobalValue::ExternalLinkage, nullptr, "dlc_cpu_isa");
  isa->setInitializer(llvm::ConstantInt::get(i32, static_cast<int>(target.isa)));
  isa->setConstant(true);
  new llvm::GlobalVariable(m, i32, true, llvm::GlobalValue::ExternalLinkage, llvm::ConstantInt::get(i32, DLC_CPU_ABI_VERSION),
                           "dlc_cpu_abi_version");
  // What the model's kernels can meet, so that only that code is compiled (kernels.h).
  uint32_t activations = 0, conv_paths = 0;
  bool few_pixels_allowed = true;
  for (const Segment& seg : segments)
    for (const Op* op : seg.ops) {
      if (op->kind() == OpKind::FusedConv || op->kind() == OpKind::FusedMatMul) activations |= 1u << activationCode(*op);
      if (op->kind() != OpKind::Conv && op->kind() != OpKind::FusedConv) continue;
      const bool symbolic = !backends::opIsStatic(*op);
      if (symbolic && (!trials || trials->empty())) return Status::error(str("internal error: ", where(*op), " has no trial sizes"));
      const Op* sized = symbolic ? trials->front().ops.at(op) : op;
      std::vector<int64_t> x = shapeOf(sized->operand(0)), y = shapeOf(sized->result());
      int64_t group = op->getInt("group", 1), pixels = numel(y) / (y[0] * y[1]);
      if (group == x[1]) conv_paths |= DLC_CONV_PATH_DIRECT;
      // The few-pixels path packs its weights in its own layout: it must not depend on a run's
      // sizes, so a convolution over a symbolic image never takes it (none of the model's do).
      const Shape& declared = op->result()->type().shape;
      bool static_pixels = declared.rank() >= 3 && std::all_of(declared.dims.begin() + 2, declared.dims.end(), [](const Dim& d) { return d.isStatic(); });
      if (symbolic && !static_pixels) few_pixels_allowed = false;
      if (group == 1 && pixels <= 256) conv_paths |= DLC_CONV_PATH_FEW_PIXELS;
    }
  if (!few_pixels_allowed) conv_paths &= ~static_cast<uint32_t>(DLC_CONV_PATH_FEW_PIXELS);
  for (auto [name, value] : {std::pair<const char*, uint32_t>{"dlc_cpu_activations", activations}, {"dlc_cpu_conv_paths", conv_paths}}) {
    llvm::GlobalVariable* g = m.getGlobalVariable(name);
    if (!g) g = new llvm::GlobalVariable(m, i32, true, llvm::GlobalValue::ExternalLinkage, nullptr, name);
    g->setInitializer(llvm::ConstantInt::get(i32, value));
    g->setConstant(true);
  }
  std::set<std::string> entry_points{"dlc_cpu_abi_version"};
  for (Segment& seg : segments) {
    std::string prefix = seg.code.payload.substr(std::string("segment=").size());
    if (segmentIsSymbolic(seg)) {
      // The library re-infers the segment per run shape from its textual IR, plans the run table
      // and checks it has the signature the code was emitted for.
      if (!trials || trials->empty()) return Status::error(str("internal error: ", prefix, " has symbolic types and no trial sizes"));
      SymbolicSegment sized = sizedSegment(seg.ops, trials->front());
      SegmentEmitter emitter(m, target, prefix, &sized);
      DLC_RETURN_IF_ERROR(emitter.emit(seg.ops));
      std::string signature;
      for (int64_t w : emitter.signature()) signature += str(signature.empty() ? "" : ",", w);
      seg.code.payload = str("segment=", prefix, "\nsignature=", signature, "\n", backends::irStep("cpu", "segment", seg.ops).payload);
    } else {
      SegmentEmitter emitter(m, target, prefix);
      DLC_RETURN_IF_ERROR(emitter.emit(seg.ops));
    }
    for (const char* suffix : {"_run", "_pack", "_packed_bytes", "_workspace_bytes"}) entry_points.insert(prefix + suffix);
  }
  auto isEntryPoint = [&](llvm::StringRef name) { return entry_points.count(name.str()) != 0; };
  for (llvm::Function& f : m)
    if (!f.isDeclaration() && !isEntryPoint(f.getName())) f.setLinkage(llvm::GlobalValue::InternalLinkage);
  for (llvm::GlobalVariable& g : m.globals())
    if (!g.isDeclaration() && !isEntryPoint(g.getName())) g.setLinkage(llvm::GlobalValue::InternalLinkage);
  std::string broken;
  llvm::raw_string_ostream why(broken);
  if (llvm::verifyModule(m, &why)) return Status::error(str("internal error: the generated module is invalid: ", why.str()));
  return built;
}

namespace {

class CpuBackend : public backends::Backend {
 public:
  const char* name() const override { return "cpu"; }
  bool supports(const Op& op) const override { return lowers(op); }
  bool prefers(const Op& op) const override { return takesSparseKernel(op) && lowers(op); }

  Expected<backends::ArtifactParts> compile(const Graph& graph, const backends::CompileOptions& options) const override {
    DLC_ASSIGN_OR_RETURN(CpuTarget target, resolveCpuTarget(options.cpu, options.triple));
    backends::ArtifactParts parts;
    const std::vector<Trial> trials = backends::makeTrials(graph);
    parts.segments = planSegments(graph, options.take, &trials);
    if (parts.segments.empty()) return parts;  // nothing to generate: every op is a reference step
    // DLC_CPU_TIMING=1 prints where compile time goes.
    const bool timing = std::getenv("DLC_CPU_TIMING") != nullptr;
    auto t0 = std::chrono::steady_clock::now();
    auto report = [&](const char* stage, int done) {
      if (options.progress) options.progress(stage, done, 4);
    };
    auto lap = [&](const char* what) {
      auto now = std::chrono::steady_clock::now();
      if (timing) std::fprintf(stderr, "cpu: %s %.0f ms\n", what, std::chrono::duration<double, std::milli>(now - t0).count());
      t0 = now;
    };
    report("generating LLVM IR", 0);
    DLC_ASSIGN_OR_RETURN(BuiltModule built, buildModule(parts.segments, target, &trials));
    lap("build module");
    report("optimizing (LLVM -O3)", 1);
    optimizeModule(*built.module, target);
    lap("optimize (O3)");
    report("emitting native code", 2);
    DLC_ASSIGN_OR_RETURN(std::string object, emitCode(*built.module, target, FileKind::Object));
    lap("emit object");
    report("linking", 3);
    DLC_ASSIGN_OR_RETURN(std::string shared, linkSharedObject(object));
    lap("link");
    report("done", 4);
    parts.cpu_features = target.required;
    parts.native_code.push_back({"elf-shared-object", std::move(shared)});
    return parts;
  }
};

}  // namespace

Expected<std::string> emitSegments(const Graph& graph, const backends::CompileOptions& options, EmitKind kind,
                                   std::vector<Segment>* segments_out) {
  DLC_ASSIGN_OR_RETURN(CpuTarget target, resolveCpuTarget(options.cpu, options.triple));
  std::vector<Segment> segments = planSegments(graph);
  DLC_ASSIGN_OR_RETURN(BuiltModule built, buildModule(segments, target));
  optimizeModule(*built.module, target);
  if (segments_out) *segments_out = segments;
  if (kind == EmitKind::LlvmIr) return printModule(*built.module);
  return emitCode(*built.module, target, kind == EmitKind::Assembly ? FileKind::Assembly : FileKind::Object);
}

}  // namespace dlc::llvm_cpu

namespace dlc::backends {
std::unique_ptr<Backend> makeCpuBackend() { return std::make_unique<llvm_cpu::CpuBackend>(); }
}  // namespace dlc::backends
