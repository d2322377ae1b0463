// ONNX import of data: TensorProto fields and dtypes, external-data weights, test-data `.pb` files.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "frontend/onnx/onnx_internal.h"
#include "tests/unit/onnx_test_util.h"

namespace dlc {
namespace {
using namespace onnx_test;
using onnx_import::readValueFile;
using onnx_import::tensorFromProto;

TEST(OnnxValues, TypedFieldsForEveryDtype) {
  onnx::TensorProto h;
  h.set_data_type(onnx::TensorProto::FLOAT16);
  h.add_dims(2);
  h.add_int32_data(0x3c00);  // 1.0
  h.add_int32_data(0xc000);  // -2.0
  auto th = tensorFromProto(h, "");
  ASSERT_TRUE(th.ok()) << th.status().message();
  EXPECT_EQ(th->dtype(), DType::F16);
  EXPECT_DOUBLE_EQ(th->getDouble(1), -2.0);

  onnx::TensorProto b;
  b.set_data_type(onnx::TensorProto::BOOL);
  b.add_dims(3);
  for (int v : {1, 0, 1}) b.add_int32_data(v);
  auto tb = tensorFromProto(b, "");
  ASSERT_TRUE(tb.ok());
  EXPECT_EQ(tb->getInt(0), 1);
  EXPECT_EQ(tb->getInt(1), 0);

  onnx::TensorProto u;
  u.set_data_type(onnx::TensorProto::UINT64);
  u.add_uint64_data(~uint64_t{0});
  auto tu = tensorFromProto(u, "");
  ASSERT_TRUE(tu.ok());
  EXPECT_EQ(tu->data<uint64_t>()[0], ~uint64_t{0});

  onnx::TensorProto s;
  s.set_data_type(onnx::TensorProto::STRING);
  s.add_dims(2);
  s.add_string_data("ab");
  s.add_string_data("");
  auto ts = tensorFromProto(s, "");
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(ts->strings()[0], "ab");

  onnx::TensorProto r;
  r.set_data_type(onnx::TensorProto::INT16);
  r.add_dims(2);
  int16_t raw[2] = {-7, 300};
  r.set_raw_data(std::string(reinterpret_cast<const char*>(raw), sizeof raw));
  auto tr = tensorFromProto(r, "");
  ASSERT_TRUE(tr.ok());
  EXPECT_EQ(tr->getInt(0), -7);
  EXPECT_EQ(tr->getInt(1), 300);

  onnx::TensorProto d;
  d.set_data_type(onnx::TensorProto::DOUBLE);
  d.add_double_data(0.25);
  ASSERT_TRUE(tensorFromProto(d, "").ok());
}

TEST(OnnxValues, BadTensorsAreErrors) {
  onnx::TensorProto c;
  c.set_name("w");
  c.set_data_type(onnx::TensorProto::COMPLEX64);
  c.add_float_data(1);
  c.add_float_data(2);
  auto tc = tensorFromProto(c, "");
  ASSERT_FALSE(tc.ok());
  EXPECT_NE(tc.status().message().find("complex64"), std::string::npos);

  onnx::TensorProto huge;  // dims claim 2^50 elements with no data: rejected before allocating
  huge.set_data_type(onnx::TensorProto::FLOAT);
  huge.add_dims(int64_t{1} << 25);
  huge.add_dims(int64_t{1} << 25);
  EXPECT_FALSE(tensorFromProto(huge, "").ok());

  onnx::TensorProto short_raw;
  short_raw.set_data_type(onnx::TensorProto::INT32);
  short_raw.add_dims(4);
  short_raw.set_raw_data("abc");
  EXPECT_FALSE(tensorFromProto(short_raw, "").ok());

  onnx::TensorProto neg;
  neg.set_data_type(onnx::TensorProto::FLOAT);
  neg.add_dims(-1);
  EXPECT_FALSE(tensorFromProto(neg, "").ok());
}

class ExternalData : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / ("dlc_onnx_ext_" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(dir_);
    std::ofstream out(dir_ + "/weights.bin", std::ios::binary);
    float pad = 0.0f, vals[3] = {1.0f, 2.5f, -4.0f};
    out.write(reinterpret_cast<const char*>(&pad), 4);  // offset 4
    out.write(reinterpret_cast<const char*>(vals), sizeof vals);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  onnx::ModelProto model(const std::string& location, const std::string& offset, const std::string& length) {
    onnx::ModelProto m = makeModel(13);
    auto* g = m.mutable_graph();
    addInput(g, "x", onnx::TensorProto::FLOAT, {3});
    auto* w = g->add_initializer();
    w->set_name("w");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(3);
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto kv = [&](const char* k, const std::string& v) {
      auto* e = w->add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    kv("location", location);
    kv("offset", offset);
    kv("length", length);
    addNode(g, "Mul", {"x", "w"}, {"y"}, "mul");
    addOutput(g, "y", onnx::TensorProto::FLOAT, {3});
    return m;
  }

  std::string dir_;
};

TEST_F(ExternalData, WeightsAreReadRelativeToTheModel) {
  std::string path = dir_ + "/model.onnx";
  std::ofstream(path, std::ios::binary) << model("weights.bin", "4", "12").SerializeAsString();
  auto g = onnx_import::importModelFile(path);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Op& c = *(*g)->body().ops().front();
  ASSERT_EQ(c.kind(), OpKind::Constant);
  EXPECT_EQ(c.result(0)->name(), "w");
  EXPECT_EQ(c.attr("value")->t.toDoubleVector(), (std::vector<double>{1.0, 2.5, -4.0}));
}

TEST_F(ExternalData, EscapingPathsAndBadRangesAreRejected) {
  auto r1 = importProto(model("../weights.bin", "0", "12"), dir_);
  ASSERT_FALSE(r1.ok());
  EXPECT_NE(r1.status().message().find("escapes the model directory"), std::string::npos) << r1.status().message();
  auto r2 = importProto(model("/etc/passwd", "0", "12"), dir_);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("must be relative"), std::string::npos) << r2.status().message();
  auto r3 = importProto(model("weights.bin", "8", "12"), dir_);
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.status().message().find("beyond the end"), std::string::npos) << r3.status().message();
  auto r4 = importProto(model("nothere.bin", "0", "12"), dir_);
  ASSERT_FALSE(r4.ok());
  EXPECT_NE(r4.status().message().find("nothere.bin"), std::string::npos) << r4.status().message();
  std::filesystem::create_symlink("/etc", dir_ + "/link");
  auto r5 = importProto(model("link/passwd", "0", "12"), dir_);
  ASSERT_FALSE(r5.ok());
  EXPECT_NE(r5.status().message().find("escapes the model directory"), std::string::npos) << r5.status().message();
}

TEST(OnnxValues, ReadsTestDataTensor) {
  if (!haveTestData()) GTEST_SKIP() << "libonnx-testdata not installed";
  auto v = readValueFile(kTestData + "/node/test_abs/test_data_set_0/input_0.pb");
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_FALSE(v->is_sequence);
  EXPECT_EQ(v->tensor.dtype(), DType::F32);
  EXPECT_EQ(v->tensor.shape(), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_FLOAT_EQ(v->tensor.data<float>()[0], 1.7640524f);
  EXPECT_FLOAT_EQ(v->tensor.data<float>()[59], -0.36274117f);
  Type want = Type::tensor(DType::F32);
  EXPECT_TRUE(readValueFile(kTestData + "/node/test_abs/test_data_set_0/input_0.pb", &want).ok());
  Type wrong = Type::tensor(DType::I64);
  EXPECT_FALSE(readValueFile(kTestData + "/node/test_abs/test_data_set_0/input_0.pb", &wrong).ok());
}

TEST(OnnxValues, ReadsSequencesAndOptionals) {
  if (!haveTestData()) GTEST_SKIP() << "libonnx-testdata not installed";
  std::string dir = kTestData + "/node/test_sequence_insert_at_back/test_data_set_0/";
  Type seq = Type::sequence(Type::tensor(DType::I64));
  auto s = readValueFile(dir + "input_0.pb", &seq);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->is_sequence);
  EXPECT_FALSE(s->sequence.empty());
  auto guessed = readValueFile(dir + "input_0.pb");
  ASSERT_TRUE(guessed.ok()) << guessed.status().message();
  EXPECT_EQ(guessed->is_sequence, s->is_sequence);

  std::string odir = kTestData + "/node/test_optional_has_element_empty/test_data_set_0/";
  if (std::filesystem::exists(odir + "input_0.pb")) {
    Type opt = Type::optional(Type::tensor(DType::I32));
    auto o = readValueFile(odir + "input_0.pb", &opt);
    ASSERT_TRUE(o.ok()) << o.status().message();
    EXPECT_TRUE(o->is_none);
  }
}

TEST(OnnxValues, ValueFileErrorsNameTheFile) {
  auto missing = readValueFile("/nonexistent/input_0.pb");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message().rfind("/nonexistent/input_0.pb: ", 0), 0u);
}

}  // namespace
}  // namespace dlc
