// Test helper: builds a one-op graph with the IR builder and runs it on the reference backend.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "backends/reference/interpreter.h"
#include "ir/builder.h"

namespace dlc::testing {

// Runs `kind` on `inputs` (an undefined Tensor marks an absent optional input) and returns its
// outputs. Inputs become graph inputs, so nothing is constant-folded.
inline Expected<std::vector<Tensor>> runOp(OpKind kind, const std::vector<Tensor>& inputs,
                                           std::map<std::string, Attribute> attrs = {}, int num_outputs = 1) {
  Graph g;
  Builder b(g.body());
  std::vector<Value*> operands;
  std::vector<ref::RtValue> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) {
      operands.push_back(nullptr);
      continue;
    }
    operands.push_back(
        b.addInput(str("in", i), Type::tensor(inputs[i].dtype(), Shape::of(inputs[i].shape()))));
    feeds.push_back(ref::RtValue::ofTensor(inputs[i]));
  }
  DLC_ASSIGN_OR_RETURN(Op * op, b.create(kind, operands, std::move(attrs), num_outputs, "test"));
  for (int i = 0; i < op->numResults(); ++i) b.addOutput(op->result(i));
  ref::Interpreter interp(g);
  DLC_ASSIGN_OR_RETURN(auto outs, interp.run(feeds));
  std::vector<Tensor> result;
  for (auto& o : outs) result.push_back(o.tensor);
  return result;
}

// Fixture of the shape-inference tests: a graph, its builder, and the inferred type of a new op.
class InferTest : public ::testing::Test {
 protected:
  Graph g;
  Builder b{g.body()};

  Value* in(const std::string& name, DType dt, std::vector<Dim> dims) {
    return b.addInput(name, Type::tensor(dt, Shape(std::move(dims))));
  }
  // Result `result`'s type as text, or "error: <message>" when the builder rejects the op.
  std::string typeOf(OpKind kind, std::vector<Value*> ops, std::map<std::string, Attribute> attrs = {}, int result = 0,
                     int num_results = 1) {
    auto op = b.create(kind, std::move(ops), std::move(attrs), num_results, "t");
    if (!op.ok()) return "error: " + op.status().message();
    return op.value()->result(result)->type().toString();
  }
};

inline Tensor f32(std::vector<int64_t> shape, std::vector<float> values) {
  return Tensor::fromVector(DType::F32, std::move(shape), values);
}
inline Tensor i64(std::vector<int64_t> shape, std::vector<int64_t> values) {
  return Tensor::fromVector(DType::I64, std::move(shape), values);
}

// Expects `t` to have `shape` and values within `tol` of `expected` (compared as doubles).
inline void expectTensor(const Tensor& t, const std::vector<int64_t>& shape, const std::vector<double>& expected,
                         double tol = 1e-6) {
  ASSERT_EQ(t.shape(), shape);
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size()));
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_NEAR(t.getDouble(i), expected[static_cast<size_t>(i)], tol) << "element " << i;
}

}  // namespace dlc::testing
