// The reference kernel interface: what one kernel sees (inputs, attributes, a way to run regions).
#pragma once

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "backends/reference/value.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::ref {

using RegionRunner = std::function<Expected<std::vector<RtValue>>(const Region&, std::vector<RtValue>)>;

class KernelContext {
 public:
  KernelContext(const Op& op, std::vector<const RtValue*> inputs, RegionRunner run_region)
      : op_(op), inputs_(std::move(inputs)), outputs_(static_cast<size_t>(op.numResults())),
        run_region_(std::move(run_region)) {}

  const Op& op() const { return op_; }

  int numInputs() const { return static_cast<int>(inputs_.size()); }
  // False for an absent optional input (null operand) and for an input beyond those given.
  bool hasInput(int i) const { return i < numInputs() && inputs_[static_cast<size_t>(i)] != nullptr; }
  const RtValue& inputValue(int i) const { return *inputs_[static_cast<size_t>(i)]; }
  const Tensor& input(int i) const { return inputs_[static_cast<size_t>(i)]->tensor; }

  int numOutputs() const { return static_cast<int>(outputs_.size()); }
  void setOutput(int i, Tensor t) { outputs_[static_cast<size_t>(i)] = RtValue::ofTensor(std::move(t)); }
  void setOutputValue(int i, RtValue v) { outputs_[static_cast<size_t>(i)] = std::move(v); }
  std::vector<RtValue>& outputs() { return outputs_; }

  // Runs a nested region (If branch, Loop/Scan body) with the given argument values.
  Expected<std::vector<RtValue>> runRegion(const Region& r, std::vector<RtValue> args) const {
    return run_region_(r, std::move(args));
  }

  // An error naming the op and its origin: "Conv 'conv1': <message>".
  Status error(const std::string& message) const {
    return Status::error(str(op_.name(), " '", op_.location(), "': ", message));
  }

 private:
  const Op& op_;
  std::vector<const RtValue*> inputs_;
  std::vector<RtValue> outputs_;
  RegionRunner run_region_;
};

using Kernel = Status (*)(KernelContext&);
using KernelTable = std::array<Kernel, kNumOpKinds>;

// Each kernel family file registers its kernels here (called once by kernelTable()).
void registerElementwiseKernels(KernelTable& table);
void registerMathKernels(KernelTable& table);
void registerTensorKernels(KernelTable& table);
void registerControlFlowKernels(KernelTable& table);
void registerNNKernels(KernelTable& table);

// The full table; null entries are ops the reference backend does not run.
const KernelTable& kernelTable();

}  // namespace dlc::ref
