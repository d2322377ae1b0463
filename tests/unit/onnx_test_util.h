// Helpers for the ONNX import tests: small ModelProtos built in C++ and test-data paths.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "frontend/onnx/importer.h"

namespace dlc::onnx_test {

inline const std::string kTestData = "/usr/share/libonnx-testdata/data";

inline bool haveTestData() { return std::filesystem::exists(kTestData + "/node/test_abs/model.onnx"); }

inline onnx::ModelProto makeModel(int64_t opset, const std::string& name = "g") {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.set_producer_name("dlc-test");
  auto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  m.mutable_graph()->set_name(name);
  return m;
}

inline void setTensorType(onnx::TypeProto* t, int elem, const std::vector<int64_t>& dims) {
  auto* tt = t->mutable_tensor_type();
  tt->set_elem_type(elem);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

inline void addInput(onnx::GraphProto* g, const std::string& name, int elem, const std::vector<int64_t>& dims) {
  auto* vi = g->add_input();
  vi->set_name(name);
  setTensorType(vi->mutable_type(), elem, dims);
}

inline void addOutput(onnx::GraphProto* g, const std::string& name, int elem, const std::vector<int64_t>& dims) {
  auto* vi = g->add_output();
  vi->set_name(name);
  setTensorType(vi->mutable_type(), elem, dims);
}

inline onnx::NodeProto* addNode(onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& inputs,
                                const std::vector<std::string>& outputs, const std::string& name = {}) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& i : inputs) n->add_input(i);
  for (const auto& o : outputs) n->add_output(o);
  return n;
}

inline void addIntsAttr(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

inline void addIntAttr(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

inline Expected<std::unique_ptr<Graph>> importProto(const onnx::ModelProto& m, const std::string& dir = {}) {
  return onnx_import::importModelBytes(m.SerializeAsString(), "test.onnx", dir);
}

// Op kinds of a region in order, as names.
inline std::vector<std::string> opNames(const Region& r) {
  std::vector<std::string> out;
  for (const auto& op : r.ops()) out.push_back(op->name());
  return out;
}

}  // namespace dlc::onnx_test
