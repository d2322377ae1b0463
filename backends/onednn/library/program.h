// A segment of an artifact lowered to oneDNN: tensors with their memory descriptors (blocked where
// a primitive prefers, carried through layout-agnostic ops), primitives in order, constants
// reordered once, and a workspace layout for everything else. Built at load, run per session.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "dlc/kernel_library.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::onednn {

struct TensorSlot {
  enum class Kind { Input, Constant, Internal, Output };
  dnnl::memory::desc md;
  Kind kind = Kind::Internal;
  int index = -1;                 // Input: step input; Output: step output
  int root = -1;                  // views share storage with this tensor (-1: own storage)
  size_t offset = 0;              // Internal roots: bytes from the workspace start
  const void* borrowed = nullptr;  // Constant: the artifact's own bytes, used in place, or
  std::shared_ptr<void> owned;     // a repacked copy
  int first = 1 << 30, last = -1;  // executions that write / read it (workspace liveness)
  int rank = -1;                   // Output: the IR rank (0 for a scalar, which oneDNN sees as [1])
  int32_t dtype_code = 0;          // Output: the IR dtype as the runtime's (ONNX) code
};

// One step of a program: a oneDNN primitive, or (where oneDNN has no primitive for the op) a host
// function given its tensors' data in `args` order, run after the primitives before it finish.
struct Exec {
  dnnl::primitive primitive;
  std::vector<std::pair<int, int>> args;  // DNNL_ARG_* (host: position) -> tensor
  dnnl::memory::desc scratchpad;  // zero-sized when the primitive needs none
  std::string what;  // "Conv 'conv1'", for errors
  std::function<void(void* const* data)> host;
};

// Weights repacked into a primitive's layout, shared by the programs of one step (one per thread
// count and per run shape): keyed by the weight's bytes and both layouts.
class RepackCache {
 public:
  std::shared_ptr<void> find(const void* data, const std::string& from, const std::string& to);
  void insert(const void* data, const std::string& from, const std::string& to, std::shared_ptr<void> packed);

 private:
  std::mutex mutex_;
  std::map<std::tuple<const void*, std::string, std::string>, std::shared_ptr<void>> packed_;
};

class Program {
 public:
  // Lowers `segment` (its arguments are the step inputs; constants[i] is non-null where input i is
  // a weight). Fails with the op that oneDNN cannot run as the graph asks. Every type must be
  // static: other segments are built per run key (specializeSegment). Weights
  // repacked go into `repacked` when given, and are taken from it when there.
  static Expected<std::unique_ptr<Program>> build(const Graph& segment, const std::vector<const void*>& constants,
                                                  RepackCache* repacked = nullptr);

  Status run(const dlc_kernel_io& io) const;

  size_t workspaceBytes() const { return workspace_bytes_; }
  size_t numPrimitives() const { return execs_.size(); }

 private:
  friend class Builder;
  std::vector<TensorSlot> tensors_;
  std::vector<Exec> execs_;
  std::vector<int> outputs_;  // Output tensors, per step output
  size_t workspace_bytes_ = 0, scratch_offset_ = 0;
};

// The engine every program runs on (one CPU engine per process).
const dnnl::engine& cpuEngine();

// Per-op lowering, in lower_*.cc: an error when the op, as typed and attributed here, is not
// something this library runs (the compiler then leaves it to the reference kernels). Null for
// op kinds the library never runs.
class Builder;
using Lowering = Status (*)(Builder& b, const Op& op);
Lowering loweringFor(OpKind kind);

// Helpers the lowerings share.
class Builder {
 public:
  Builder(Program& p, RepackCache* repacked) : p_(p), repacked_(repacked) {}

  int add(TensorSlot t);
  // The tensor holding `v`, and recording it; an error when `v` was never lowered.
  Expected<int> tensorOf(const Value* v);
  void bind(const Value* v, int tensor) { values_[v] = tensor; }
  const dnnl::memory::desc& md(int t) const { return p_.tensors_[static_cast<size_t>(t)].md; }
  bool isConstant(int t) const { return p_.tensors_[static_cast<size_t>(t)].kind == TensorSlot::Kind::Constant; }
  // True for an intermediate with storage of its own (not a step input, weight, output, or a view
  // into another tensor): it may be overwritten once nothing reads it any more.
  bool ownsInternalStorage(int t) const {
    const TensorSlot& s = p_.tensors_[static_cast<size_t>(t)];
    return s.kind == TensorSlot::Kind::Internal && s.root < 0;
  }
  const void* constantData(int t) const;

  // A new internal tensor of `md`.
  int internal(const dnnl::memory::desc& md);
  // A constant tensor of `md` holding zeros (to copy into a buffer that must start zeroed).
  Expected<int> zeros(const dnnl::memory::desc& md);
  // The same storage seen through another descriptor (a reshape, a permutation, a sub-tensor).
  int view(int t, const dnnl::memory::desc& md);
  // `t` in layout `md`: itself when it already is, else a reorder (done now for constants).
  Expected<int> ensure(int t, dnnl::memory::desc md);
  Expected<int> ensurePlain(int t);
  // Appends a primitive; `args` name tensors. Records liveness.
  void exec(dnnl::primitive prim, std::vector<std::pair<int, int>> args, const dnnl::memory::desc& scratchpad, const Op& op);
  // Appends a host step: fn(data) with data[i] the storage of tensors[i] (plain layouts).
  void host(std::function<void(void* const* data)> fn, const std::vector<int>& tensors, const Op& op);
  // Appends a reorder from `src` into the existing tensor `dst`.
  Status copy(int src, int dst, const Op& op);

  // Attributes every primitive gets: user scratchpad (the session's workspace), no denormals.
  static dnnl::primitive_attr baseAttr();

 private:
  Program& p_;
  RepackCache* repacked_;
  std::map<const Value*, int> values_;
  std::map<std::pair<int, std::string>, int> reorders_;  // (tensor, layout) -> reordered tensor
};

// Descriptor helpers.
dnnl::memory::dims dimsOf(const Type& t);
dnnl::memory::desc plainDesc(const dnnl::memory::dims& dims, dnnl::memory::data_type dt = dnnl::memory::data_type::f32);
std::optional<dnnl::memory::data_type> dnnlType(DType t);
// `md`'s layout with another element type (a reorder into it converts instead of copying).
dnnl::memory::desc withType(const dnnl::memory::desc& md, dnnl::memory::data_type t);
// `md`'s dims padded with leading 1s to `rank` (NumPy broadcasting), same strides for the rest.
dnnl::memory::desc withRank(const dnnl::memory::desc& md, int rank);
// Appends the fused ops' activation (activation, activation_alpha/beta attributes) as a post-op.
Status appendActivation(dnnl::post_ops& ops, const Op& op);
// True when every operand is an f32 tensor; ...OrBf16: or every operand a bf16 one.
bool isF32(const Op& op);
bool isF32OrBf16(const Op& op);
// The channel-blocked layout of oneDNN's JIT kernels on this CPU (nChw16c with AVX-512, nChw8c
// with AVX2) for a 2-D or 3-D image tensor; plain for other ranks.
dnnl::memory::desc channelBlocked(const dnnl::memory::dims& d);
// True when `d` (NumPy-aligned to `y`'s rank) is 1 everywhere but the channel axis 1.
bool isPerChannel(dnnl::memory::dims d, const dnnl::memory::dims& y);
// Chains of elementwise ops run as one primitive with post-ops (lower_elementwise.cc): the ops
// from `head` on, each the only reader of the one before, that fold into its primitive; fewer
// than two ops when there is nothing to fold.
std::vector<const Op*> elementwiseChain(const Op& head);
Status lowerElementwiseChain(Builder& b, const std::vector<const Op*>& chain);
// Where a value's shape came from, for messages: "Conv 'conv1'".
std::string where(const Op& op);

}  // namespace dlc::onednn
