// Shape inference of the nn ops: conv/pool sizes (pads, auto_pad, ceil_mode), symbolic batch dims
// flowing through, recurrent layouts, Resize from constant scales/sizes, and clear errors.
#include "tests/unit/op_runner.h"

namespace dlc {
namespace {
using testing::f32;
using testing::i64;

class NNInfer : public testing::InferTest {};

const Dim N = Dim::sym("N");
Dim S(int64_t v) { return Dim::of(v); }
Attribute ints(std::vector<int64_t> v) { return Attribute::ofInts(std::move(v)); }

TEST_F(NNInfer, ConvKeepsSymbolicBatch) {
  Value* x = in("x", DType::F32, {N, S(3), S(224), S(224)});
  Value* w = in("w", DType::F32, {S(64), S(3), S(7), S(7)});
  EXPECT_EQ(typeOf(OpKind::Conv, {x, w}, {{"strides", ints({2, 2})}, {"pads", ints({3, 3, 3, 3})}}), "f32[N,64,112,112]");
  EXPECT_EQ(typeOf(OpKind::Conv, {x, w}, {{"strides", ints({2, 2})}, {"auto_pad", Attribute::ofString("SAME_UPPER")}}),
            "f32[N,64,112,112]");
  EXPECT_EQ(typeOf(OpKind::Conv, {x, w}, {{"auto_pad", Attribute::ofString("VALID")}}), "f32[N,64,218,218]");
  Value* dw = in("dw", DType::F32, {S(3), S(1), S(3), S(3)});
  EXPECT_EQ(typeOf(OpKind::Conv, {x, dw}, {{"group", Attribute::ofInt(3)}, {"dilations", ints({2, 2})}}), "f32[N,3,220,220]");
  Value* xs = in("xs", DType::F32, {N, S(3), Dim::sym("H"), S(10)});
  EXPECT_EQ(typeOf(OpKind::Conv, {xs, w}), "f32[N,64,?,4]");
}

TEST_F(NNInfer, ConvErrors) {
  Value* x = in("x", DType::F32, {N, S(3), S(8), S(8)});
  Value* w = in("w", DType::F32, {S(4), S(2), S(3), S(3)});
  EXPECT_NE(typeOf(OpKind::Conv, {x, w}).find("error: Conv 't'"), std::string::npos);  // 3 channels vs 2
  Value* w2 = in("w2", DType::F32, {S(4), S(3), S(9), S(9)});
  EXPECT_NE(typeOf(OpKind::Conv, {x, w2}).find("error"), std::string::npos);  // kernel larger than input
  Value* wd = in("wd", DType::F64, {S(4), S(3), S(3), S(3)});
  EXPECT_NE(typeOf(OpKind::Conv, {x, wd}).find("error"), std::string::npos);  // dtype mismatch
}

TEST_F(NNInfer, ConvTransposeAndIntegerConvs) {
  Value* x = in("x", DType::F32, {N, S(4), S(5), S(5)});
  Value* w = in("w", DType::F32, {S(4), S(2), S(3), S(3)});
  EXPECT_EQ(typeOf(OpKind::ConvTranspose, {x, w}, {{"strides", ints({2, 2})}, {"group", Attribute::ofInt(2)}}),
            "f32[N,4,11,11]");
  EXPECT_EQ(typeOf(OpKind::ConvTranspose, {x, w}, {{"output_shape", ints({10, 10})}, {"strides", ints({2, 2})}}),
            "f32[N,2,10,10]");
  Value* xq = in("xq", DType::U8, {N, S(2), S(4), S(4)});
  Value* wq = in("wq", DType::U8, {S(3), S(2), S(2), S(2)});
  EXPECT_EQ(typeOf(OpKind::ConvInteger, {xq, wq}), "i32[N,3,3,3]");
}

TEST_F(NNInfer, Pools) {
  Value* x = in("x", DType::F32, {N, S(64), S(112), S(112)});
  std::map<std::string, Attribute> mp{{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}};
  EXPECT_EQ(typeOf(OpKind::MaxPool, {x}, mp), "f32[N,64,56,56]");
  EXPECT_EQ(typeOf(OpKind::MaxPool, {x}, mp, 1, 2), "i64[N,64,56,56]");
  Value* y = in("y", DType::F32, {N, S(1), S(4), S(4)});
  std::map<std::string, Attribute> ceil{{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"ceil_mode", Attribute::ofInt(1)}};
  EXPECT_EQ(typeOf(OpKind::MaxPool, {y}, ceil), "f32[N,1,2,2]");
  EXPECT_EQ(typeOf(OpKind::AveragePool, {y}, ceil), "f32[N,1,2,2]");
  // ceil_mode drops a last window that would start in the end padding: 5 + pad 1, k 2, s 2.
  Value* z = in("z", DType::F32, {S(1), S(1), S(5)});
  EXPECT_EQ(typeOf(OpKind::MaxPool, {z}, {{"kernel_shape", ints({2})}, {"strides", ints({2})}, {"pads", ints({0, 1})},
                                          {"ceil_mode", Attribute::ofInt(1)}}),
            "f32[1,1,3]");
  EXPECT_EQ(typeOf(OpKind::GlobalAveragePool, {x}), "f32[N,64,1,1]");
  EXPECT_NE(typeOf(OpKind::MaxPool, {x}, {{"kernel_shape", ints({3})}}).find("error: MaxPool 't'"), std::string::npos);
}

TEST_F(NNInfer, Normalizations) {
  Value* x = in("x", DType::F32, {N, S(128), S(768)});
  Value* s = in("s", DType::F32, {S(768)});
  EXPECT_EQ(typeOf(OpKind::LayerNormalization, {x, s, s}), "f32[N,128,768]");
  EXPECT_EQ(typeOf(OpKind::LayerNormalization, {x, s, s}, {}, 1, 3), "f32[N,128,1]");
  EXPECT_EQ(typeOf(OpKind::LayerNormalization, {x, s, s}, {{"axis", Attribute::ofInt(1)}}, 2, 3), "f32[N,1,1]");
  EXPECT_NE(typeOf(OpKind::LayerNormalization, {x, s}, {{"axis", Attribute::ofInt(3)}}).find("error"), std::string::npos);
  Value* img = in("img", DType::F32, {N, S(3), S(8), S(8)});
  Value* c = in("c", DType::F32, {S(3)});
  EXPECT_EQ(typeOf(OpKind::BatchNormalization, {img, c, c, c, c}), "f32[N,3,8,8]");
  Value* c4 = in("c4", DType::F32, {S(4)});
  EXPECT_NE(typeOf(OpKind::BatchNormalization, {img, c4, c, c, c}).find("error"), std::string::npos);
  EXPECT_EQ(typeOf(OpKind::Dropout, {img}, {}, 1, 2), "bool[N,3,8,8]");
}

TEST_F(NNInfer, RecurrentLayouts) {
  Value* x = in("x", DType::F32, {Dim::sym("T"), N, S(16)});
  Value* w = in("w", DType::F32, {S(2), S(128), S(16)});
  Value* r = in("r", DType::F32, {S(2), S(128), S(32)});
  std::map<std::string, Attribute> a{{"hidden_size", Attribute::ofInt(32)}, {"direction", Attribute::ofString("bidirectional")}};
  EXPECT_EQ(typeOf(OpKind::LSTM, {x, w, r}, a, 0, 3), "f32[T,2,N,32]");
  EXPECT_EQ(typeOf(OpKind::LSTM, {x, w, r}, a, 2, 3), "f32[2,N,32]");
  Value* xb = in("xb", DType::F32, {N, Dim::sym("T"), S(16)});
  a["layout"] = Attribute::ofInt(1);
  EXPECT_EQ(typeOf(OpKind::LSTM, {xb, w, r}, a, 0, 3), "f32[N,T,2,32]");
  EXPECT_EQ(typeOf(OpKind::LSTM, {xb, w, r}, a, 1, 3), "f32[N,2,32]");
  Value* wg = in("wg", DType::F32, {S(1), S(96), S(16)});
  Value* rg = in("rg", DType::F32, {S(1), S(96), S(32)});
  EXPECT_EQ(typeOf(OpKind::GRU, {x, wg, rg}, {}, 1, 2), "f32[1,N,32]");  // hidden from W
  EXPECT_NE(typeOf(OpKind::GRU, {x, w, r}, {}, 0, 2).find("error"), std::string::npos);  // 2 dirs vs forward
}

TEST_F(NNInfer, ResizeFromConstants) {
  Value* x = in("x", DType::F32, {N, S(3), S(10), S(20)});
  Value* scales = b.constant(f32({4}, {1, 1, 2, 0.5f}));
  EXPECT_EQ(typeOf(OpKind::Resize, {x, nullptr, scales}), "f32[N,3,20,10]");
  Value* sizes = b.constant(i64({4}, {1, 3, 7, 9}));
  EXPECT_EQ(typeOf(OpKind::Resize, {x, nullptr, nullptr, sizes}), "f32[1,3,7,9]");
  Value* dyn = in("dyn", DType::F32, {S(4)});
  EXPECT_EQ(typeOf(OpKind::Resize, {x, nullptr, dyn}), "f32[?,?,?,?]");
  EXPECT_EQ(typeOf(OpKind::Upsample, {x, scales}), "f32[N,3,20,10]");
  Value* bad = b.constant(f32({3}, {1, 2, 2}));
  EXPECT_NE(typeOf(OpKind::Resize, {x, nullptr, bad}).find("error: Resize 't'"), std::string::npos);
}

TEST_F(NNInfer, LossesDetectionOptimizers) {
  Value* s = in("s", DType::F32, {N, S(5), S(2)});
  Value* t = in("t", DType::I64, {N, S(2)});
  EXPECT_EQ(typeOf(OpKind::SoftmaxCrossEntropyLoss, {s, t}), "f32[]");
  EXPECT_EQ(typeOf(OpKind::SoftmaxCrossEntropyLoss, {s, t}, {{"reduction", Attribute::ofString("none")}}, 0, 2), "f32[N,2]");
  EXPECT_EQ(typeOf(OpKind::SoftmaxCrossEntropyLoss, {s, t}, {}, 1, 2), "f32[N,5,2]");
  Value* boxes = in("boxes", DType::F32, {S(1), S(6), S(4)});
  Value* scores = in("scores", DType::F32, {S(1), S(2), S(6)});
  EXPECT_EQ(typeOf(OpKind::NonMaxSuppression, {boxes, scores}), "i64[?,3]");
  Value* r = in("r", DType::F32, {});
  Value* step = in("step", DType::I64, {});
  Value* xp = in("xp", DType::F32, {S(3)});
  EXPECT_EQ(typeOf(OpKind::Adam, {r, step, xp, xp, xp, xp}, {}, 2, 3), "f32[3]");
  EXPECT_NE(typeOf(OpKind::Adam, {r, step, xp, xp, xp}, {}, 0, 3).find("error"), std::string::npos);
}

}  // namespace
}  // namespace dlc
