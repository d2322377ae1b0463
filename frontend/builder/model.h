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

class LayerNorm {
 public:
  LayerNorm(Model& m, const std::string& name, int64_t features, float eps = 1e-5f);
  Var operator()(Var x) const;

 private:
  Var scale_, bias_;
  float eps_;
};

}  // namespace dlc::builder
