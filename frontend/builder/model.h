// The native C++ model API: build a model from layers and functions, producing the same IR as the
// ONNX importer. Errors are sticky: the first failure is kept, later calls are no-ops, and
// Model::finish() reports it, so model code reads straight through without checks at each line.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::builder {

class Model;

// A handle to a value in a model under construction.
class Var {
 public:
  Var() = default;
  Var(Model* m, Value* v) : model_(m), value_(v) {}
  Value* value() const { return value_; }
  Model* model() const { return model_; }
  bool valid() const { return value_ != nullptr; }
  const Type& type() const { return value_->type(); }

 private:
  Model* model_ = nullptr;
  Value* value_ = nullptr;
};

class Model {
 public:
  explicit Model(std::string name = "model", uint64_t seed = 0);
  // Continues building an existing graph (new ops go at the end of its body); generated names start
  // with `prefix`, so they cannot collide with the graph's own.
  Model(std::unique_ptr<Graph> graph, std::string prefix, uint64_t seed = 0);
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  Graph& graph() { return *graph_; }
  // New ops go just before `op` (of the body) until insertAtEnd().
  void insertBefore(Op* op) { builder_.setInsertionPoint(op); }
  void insertAtEnd() { builder_.setInsertionPoint(nullptr); }

  // A graph input; dims may be symbolic: input("x", DType::F32, {Dim::sym("N"), Dim::of(784)}).
  Var input(const std::string& name, DType dtype, std::vector<Dim> dims);
  void output(Var v, const std::string& name = {});

  Var constant(Tensor t, const std::string& name = {});
  // A trainable parameter initialised uniformly in [-bound, bound] (PyTorch's default scheme).
  Var parameter(const std::string& name, std::vector<int64_t> shape, float bound);

  // Creates one op (results named from `location`); returns its results.
  std::vector<Var> op(OpKind kind, std::vector<Var> operands, std::map<std::string, Attribute> attrs = {},
                      int num_results = 1);
  Var op1(OpKind kind, std::vector<Var> operands, std::map<std::string, Attribute> attrs = {}) {
    auto r = op(kind, std::move(operands), std::move(attrs), 1);
    return r.empty() ? Var() : r[0];
  }

  // Names the next op's location, e.g. "layer1.conv1" (then auto-numbered).
  std::string nextName(const std::string& prefix);
  // Records the first error (sticky).
  void fail(Status s);
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // Hands over the finished graph, or the first error met while building it.
  Expected<std::unique_ptr<Graph>> finish();

 private:
  std::unique_ptr<Graph> graph_;
  Builder builder_;
  Status status_;
  std::mt19937_64 rng_;
  int counter_ = 0;
  std::string prefix_;
};

// Functions (stateless ops). Scalars (double) become constants of the other operand's dtype.
Var add(Var a, Var b);
Var sub(Var a, Var b);
Var mul(Var a, Var b);
Var div(Var a, Var b);
Var add(Var a, double b);
Var mul(Var a, double b);
Var pow(Var a, double b);
Var minimum(Var a, Var b);
Var maximum(Var a, Var b);
Var neg(Var x);
Var abs(Var x);
Var exp(Var x);
Var log(Var x);
Var sqrt(Var x);
Var softplus(Var x);
Var matmul(Var a, Var b);
// Comparisons give bool tensors; where() selects elementwise.
Var greater(Var a, Var b);
Var less(Var a, Var b);
Var equal(Var a, Var b);
Var logicalNot(Var x);
Var where(Var cond, Var a, Var b);
Var cast(Var x, DType to);
// Reductions over `axes` (all axes when empty).
Var reduceSum(Var x, std::vector<int64_t> axes = {}, bool keepdims = false);
Var reduceMean(Var x, std::vector<int64_t> axes = {}, bool keepdims = false);
Var argmax(Var x, int64_t axis, bool keepdims = false);
Var logSoftmax(Var x, int64_t axis = -1);
Var transpose(Var x, std::vector<int64_t> perm);
Var reshape(Var x, std::vector<int64_t> shape);
Var unsqueeze(Var x, std::vector<int64_t> axes);
// A scalar constant of `like`'s dtype (or `dtype`).
Var scalarLike(Var like, double v);
Var scalarOf(Model& m, DType dtype, double v);
Var relu(Var x);
Var sigmoid(Var x);
Var tanh(Var x);
Var gelu(Var x);  // exact (erf) form: x * 0.5 * (1 + erf(x / sqrt(2)))
Var silu(Var x);
Var softmax(Var x, int64_t axis = -1);
Var flatten(Var x, int64_t axis = 1);
Var leakyRelu(Var x, double alpha = 0.01);
Var elu(Var x, double alpha = 1.0);
Var selu(Var x);
Var hardSigmoid(Var x);  // torch's: clip(x / 6 + 1/2, 0, 1)
Var hardSwish(Var x);
Var mish(Var x);  // x * tanh(softplus(x))
Var erf(Var x);
Var sin(Var x);
Var cos(Var x);
// x, with no gradient flowing back through it (torch's x.detach()).
Var stopGradient(Var x);
Var clip(Var x, double lo, double hi);
// Dropout with probability `ratio`: identity at inference, a random mask (scaled by 1/(1-ratio))
// in the training step.
Var dropout(Var x, double ratio);
Var concat(const std::vector<Var>& xs, int64_t axis);
Var slice(Var x, std::vector<int64_t> starts, std::vector<int64_t> ends, std::vector<int64_t> axes);
Var squeeze(Var x, std::vector<int64_t> axes);
Var reduceMax(Var x, std::vector<int64_t> axes, bool keepdims = false);
// Broadcasts x to `shape` (ONNX Expand: dims of 1 in either stretch to the other's).
Var expand(Var x, std::vector<int64_t> shape);
// Reshapes x to the shape of `like` (a Shape op at run time, so symbolic dims follow).
Var reshapeLike(Var x, Var like);
// Indexing: gather(x, idx, axis) takes whole slices; gatherElements(x, idx, axis) one element per
// index (idx shaped like the result); scatterAdd(data, idx, upd, axis) adds upd[i] at
// data[idx[i]] along axis (ScatterElements with reduction add: duplicates accumulate).
Var gather(Var x, Var idx, int64_t axis = 0);
Var gatherElements(Var x, Var idx, int64_t axis);
Var scatterAdd(Var data, Var idx, Var upd, int64_t axis);
// The k largest values along axis and their indices (i64).
std::pair<Var, Var> topk(Var x, int64_t k, int64_t axis = -1);
// A 2-D convolution with a weight [out, in / groups, k, k] the caller made (a weight-standardized
// or spectrally normalized one, say); bias optional.
Var conv2d(Var x, Var weight, Var bias = Var(), int64_t stride = 1, int64_t pad = 0, int64_t groups = 1, int64_t dilation = 1);
// The transposed convolution (a learned upsampling) with weight [in, out, k, k].
Var convTranspose2d(Var x, Var weight, Var bias = Var(), int64_t stride = 1, int64_t pad = 0);
Var maxPool2d(Var x, int64_t kernel, int64_t stride, int64_t pad = 0);
Var avgPool2d(Var x, int64_t kernel, int64_t stride, int64_t pad = 0);
Var globalAvgPool(Var x);

// Layers (own their parameters, created in the model when constructed).
class Linear {
 public:
  Linear(Model& m, const std::string& name, int64_t in_features, int64_t out_features, bool bias = true);
  Var operator()(Var x) const;  // x: [..., in] -> [..., out]

 private:
  Var weight_, bias_;  // weight stored [in, out] so the forward is one MatMul
};

class Conv2d {
 public:
  Conv2d(Model& m, const std::string& name, int64_t in_channels, int64_t out_channels, int64_t kernel,
         int64_t stride = 1, int64_t pad = 0, int64_t groups = 1, int64_t dilation = 1, bool bias = true);
  Var operator()(Var x) const;

 private:
  Var weight_, bias_;
  int64_t stride_, pad_, groups_, dilation_;
};

class BatchNorm2d {
 public:
  BatchNorm2d(Model& m, const std::string& name, int64_t channels, float eps = 1e-5f);
  Var operator()(Var x) const;

 private:
  Var scale_, bias_, mean_, var_;
  float eps_;
};

// PReLU with one learnable slope per channel (axis 1), initialised to 0.25 as torch's.
class PReLU {
 public:
  PReLU(Model& m, const std::string& name, int64_t channels, int64_t rank = 2);
  Var operator()(Var x) const;

 private:
  Var slope_;  // [C, 1, ...] so it broadcasts over the dims after the channels
};

// InstanceNorm2d(affine=True): per sample and channel over H, W.
class InstanceNorm2d {
 public:
  InstanceNorm2d(Model& m, const std::string& name, int64_t channels, float eps = 1e-5f);
  Var operator()(Var x) const;

 private:
  Var scale_, bias_;
  float eps_;
};

// GroupNorm: per sample over each group of channels and the spatial dims, then a per-channel affine.
class GroupNorm {
 public:
  GroupNorm(Model& m, const std::string& name, int64_t groups, int64_t channels, float eps = 1e-5f);
  Var operator()(Var x) const;  // x: [N, C, ...]

 private:
  Var scale_, bias_;
  int64_t groups_;
  float eps_;
};

class LayerNorm {
 public:
  LayerNorm(Model& m, const std::string& name, int64_t features, float eps = 1e-5f);
  Var operator()(Var x) const;

 private:
  Var scale_, bias_;
  float eps_;
};

// RMSNorm over the last dim (LLaMA's, T5's): x / sqrt(mean(x²) + eps) · weight (weight starts at 1).
class RMSNorm {
 public:
  RMSNorm(Model& m, const std::string& name, int64_t features, float eps = 1e-6f);
  Var operator()(Var x) const;

 private:
  Var scale_;
  float eps_;
};

// A lookup table [num, dim]: ids (i64, any shape) -> [..., dim].
class Embedding {
 public:
  Embedding(Model& m, const std::string& name, int64_t num, int64_t dim);
  Var operator()(Var ids) const;
  Var table() const { return table_; }

 private:
  Var table_;
};

// torch.nn.RNN / LSTM / GRU (one layer, batch_first): x [N, T, in] -> (y [N, T, dirs * hidden],
// the last hidden state [dirs, N, hidden]), as the ONNX RNN/LSTM/GRU ops (which the autodiff pass
// decomposes into steps).
class Recurrent {
 public:
  enum class Cell { Rnn, Lstm, Gru };
  Recurrent(Model& m, const std::string& name, Cell cell, int64_t input, int64_t hidden, bool bidirectional = false);
  std::pair<Var, Var> operator()(Var x) const;

 private:
  Cell cell_;
  int64_t hidden_;
  bool bidirectional_;
  Var w_, r_, b_;
};

// Multi-head scaled dot-product attention with input and output projections:
// softmax(q kᵀ / sqrt(d) + mask) v over `heads` heads of d = dim / heads. x: [N, T, dim]; the mask
// (optional, additive, broadcast to [N, heads, T, S]) holds 0 where attending and a large negative
// value where not.
class MultiheadAttention {
 public:
  MultiheadAttention(Model& m, const std::string& name, int64_t dim, int64_t heads);
  Var operator()(Var x, Var mask = Var()) const { return cross(x, x, mask); }  // self-attention
  Var cross(Var q_in, Var kv_in, Var mask = Var()) const;                        // queries from q_in

 private:
  Linear q_, k_, v_, out_;
  int64_t dim_, heads_;
};

// Constants (unnamed, so training leaves them as they are). An additive causal mask [T, T]: 0 on and below the diagonal, -1e9 above (position t sees 0..t).
Var causalMask(Model& m, int64_t steps);
// Sinusoidal positions [T, dim] (Vaswani et al.): sin at even features, cos at odd ones.
Var sinusoidalPositions(Model& m, int64_t steps, int64_t dim);

}  // namespace dlc::builder
