// Reference nn kernels against values computed offline with PyTorch 1.13 (f64, weights reordered to
// ONNX gate order) or taken from ONNX node test data and hand checks, pasted in: independent of dlc.
#include <cmath>

#include "tests/unit/op_runner.h"

namespace dlc::testing {
namespace {

Attribute ints(std::vector<int64_t> v) { return Attribute::ofInts(std::move(v)); }

TEST(NNKernels, ConvPadsStridesBias) {
  // torch.conv2d(x, w, b, stride=2, padding=1)
  auto r = runOp(OpKind::Conv, {f32({1, 2, 5, 5}, {0.1,0.43,0.21,0.09,-0.15,0.29,-0.12,0.78,0.93,-0.23,0.58,0.06,0.14,0.85,-0.86,-0.83,-0.96,0.67,0.56,0.74,0.96,0.6,-0.08,0.56,-0.76,0.28,-0.71,0.89,0.04,-0.17,-0.47,0.55,-0.09,0.14,-0.96,0.24,0.22,0.23,0.89,0.36,-0.28,-0.13,0.4,-0.88,0.33,0.34,-0.58,-0.74,-0.37,-0.27}), f32({2, 2, 3, 3}, {0.14,-0.12,0.98,-0.8,-0.58,-0.68,0.31,-0.49,-0.07,-0.51,-0.68,-0.78,0.31,-0.72,-0.61,-0.26,0.64,-0.81,0.68,-0.81,0.95,-0.06,0.95,0.21,0.48,-0.92,-0.43,-0.76,-0.41,-0.76,-0.36,-0.17,-0.87,0.38,0.13,-0.47}), f32({2}, {0.05,-0.81})},
                 {{"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1,2,3,3}, {-0.9489,-2.1608,-0.05,-0.496,-0.4875,0.8757,-1.3552,0.629,0.3365,-0.5894,-1.5915,-0.357,0.1483,-2.6139,-1.6572,0.6487,-0.2078,-1.0716}, 1e-5);
}

TEST(NNKernels, ConvGroupedDilatedAsymmetricPads) {
  // torch.conv2d(x, w, stride=1, padding=(1, 0), dilation=2, groups=2)
  auto r = runOp(OpKind::Conv, {f32({1, 4, 5, 5}, {0.15,0.86,-0.36,0.33,-0.74,0.43,-0.42,-0.63,0.17,-0.96,0.66,-0.99,0.36,-0.46,0.47,0.92,-0.5,0.15,0.18,0.14,-0.55,0.91,-0.11,0.69,0.4,-0.41,0.63,-0.21,0.76,0.16,0.76,0.39,0.45,0,0.91,0.29,-0.15,0.21,-0.96,-0.4,0.32,-0.42,0.24,-0.14,-0.73,-0.4,0.14,0.18,0.15,0.31,0.3,-0.14,0.79,-0.26,-0.13,0.78,0.61,0.41,-0.8,0.84,0.43,1,-0.7,0.74,-0.68,0.23,-0.75,0.7,0.61,0.14,-0.19,-0.86,0.39,-0.09,0.44,0.73,0.95,0.71,-0.98,-0.28,0.46,-0.66,0.04,-0.89,-0.6,-0.96,0.59,-0.55,-0.31,0.86,0.41,-0.94,-0.67,0.24,0.15,-0.52,0.87,0.23,0.07,0.18}), f32({4, 2, 2, 2}, {0.46,-0.38,-0.2,-0.58,-0.63,0.89,0.48,-0.02,-0.55,-0.49,-0.88,-0.13,-0.38,0.39,-0.24,-0.64,-0.95,-0.87,0.36,-0.09,0.07,0.79,0.98,-0.57,0.33,-0.47,-0.96,0.52,-0.36,-0.23,0.18,0.66})},
                 {{"group", Attribute::ofInt(2)}, {"dilations", ints({2, 2})}, {"pads", ints({1, 0, 1, 0})}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1,4,5,3}, {0.6352,0.1726,0.8806,0.0714,0.9617,0.1545,0.2367,-0.7067,0.62,0.1492,-1.5585,-0.6311,0.3782,-0.1584,-0.7851,-0.7669,0.2539,-0.0112,-0.6638,1.0037,0.5305,-1.1006,0.6065,1.2602,-0.0886,-0.5676,-0.8609,-0.6075,0.2918,-0.527,0.6719,0.1521,0.4532,-0.7698,0.6998,-2.0289,-0.2304,-2.0157,-2.0942,-1.0454,-1.2862,2.1211,-1.3281,0.3056,-0.7152,-0.4264,-1.7078,-0.3456,-2.011,-0.7142,0.9176,-0.3353,2.046,-0.7567,1.3864,0.8227,0.1034,-0.2466,-0.251,0.3719}, 1e-5);
}

TEST(NNKernels, ConvDepthwise) {
  // torch.conv2d(x, w, b, stride=(1, 2), padding=1, groups=3): the direct depthwise path.
  auto r = runOp(OpKind::Conv, {f32({2, 3, 4, 4}, {0.26,0.75,-0.45,0.6,-0.63,0.91,0.37,-0.57,0.89,0.46,-0.49,-0.57,0.04,-0.95,-0.59,-0.15,-0.25,-0.07,-0.44,0.17,0.73,-0.76,0.03,-0.74,0.43,-0.21,0.13,-0.63,-0.71,-0.02,-0.29,0.88,0.53,0.5,0.81,-0.83,0.1,0.17,0.92,-0.42,-0.52,-0.8,-0.97,0.86,0.34,0.57,-0.44,0.17,-0.87,-0.03,0.95,0.75,-0.32,0.92,-0.54,0.9,0.88,0.6,0.26,0.75,-0.41,0.7,0.24,-0.97,-0.31,-0.7,0.96,-0.04,-0.01,0.28,-0.26,-0.73,0.64,-0.62,0.02,-0.55,-0.8,0.72,0.95,0.92,0.81,0.55,-0.33,-0.84,-0.19,-0.54,-0.74,-0.89,0.45,-0.98,0.54,-0.71,-0.84,-0.82,0.34,-0.51}), f32({3, 1, 3, 3}, {-0.16,0.11,0.72,0.45,-0.46,-0.74,-0.89,-0.4,-0.48,-0.09,0.37,0.39,-0.43,-0.24,-0.64,0.58,-0.89,0.39,0.56,0.55,-0.48,-0.25,0.18,-0.45,-0.26,-0.61,-0.08}), f32({3}, {-0.91,0.6,-0.85})},
                 {{"group", Attribute::ofInt(3)}, {"strides", ints({1, 2})}, {"pads", ints({1, 1, 1, 1})}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {2,3,4,2}, {-1.7694,-1.4938,-1.3018,0.0738,-0.6339,0.5824,0.2037,-1.493,-0.2413,-0.1292,0.3268,0.8198,1.229,1.4429,0.8604,-0.0637,-1.0542,-1.0275,-0.4758,1.3169,-0.8632,-0.3022,-0.9473,-2.5425,-0.8012,-2.9503,-2.2009,-1.2623,-1.3036,-1.1266,-0.7106,0.485,1.2405,0.8053,-0.7759,0.8199,1.9415,0.7386,0.3262,-0.6777,-0.7926,-0.0059,-0.6558,0.0642,0.4047,-0.4239,0.0857,-0.2653}, 1e-5);
}

TEST(NNKernels, ConvPointwiseAndSameUpper) {
  // 1x1 conv is a plain GEMM: y[m] = sum_c w[m,c] x[c].
  auto r = runOp(OpKind::Conv, {f32({1, 2, 1, 2}, {1, 2, 3, 4}), f32({2, 2, 1, 1}, {1, 1, 2, -1})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 2, 1, 2}, {4, 6, -1, 0});
  // SAME_UPPER, 3 wide, stride 2 on 4 values: out 2, total pad 1 at the end; kernel of ones.
  r = runOp(OpKind::Conv, {f32({1, 1, 4}, {1, 2, 3, 4}), f32({1, 1, 3}, {1, 1, 1})},
            {{"auto_pad", Attribute::ofString("SAME_UPPER")}, {"strides", ints({2})}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 1, 2}, {6, 7});
  r = runOp(OpKind::Conv, {f32({1, 1, 4}, {1, 2, 3, 4}), f32({1, 1, 3}, {1, 1, 1})},
            {{"auto_pad", Attribute::ofString("SAME_LOWER")}, {"strides", ints({2})}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 1, 2}, {3, 9});
}

TEST(NNKernels, ConvRejectsChannelMismatch) {
  auto r = runOp(OpKind::Conv, {f32({1, 3, 2, 2}, std::vector<float>(12, 1)), f32({1, 2, 1, 1}, {1, 1})});
  EXPECT_FALSE(r.ok());
}

TEST(NNKernels, MaxPoolCeilModeWithIndices) {
  // ONNX test_maxpool_2d_ceil: 4x4 of 1..16, kernel 3, stride 2, ceil_mode -> [[11,12],[15,16]].
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i + 1);
  auto r = runOp(OpKind::MaxPool, {f32({1, 1, 4, 4}, x)},
                 {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"ceil_mode", Attribute::ofInt(1)}}, 2);
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 1, 2, 2}, {11, 12, 15, 16});
  expectTensor((*r)[1], {1, 1, 2, 2}, {10, 11, 14, 15});
  // Without ceil_mode only one window fits.
  r = runOp(OpKind::MaxPool, {f32({1, 1, 4, 4}, x)}, {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 1, 1, 1}, {11});
}

TEST(NNKernels, MaxPoolStorageOrderAndDilation) {
  // 2x3 input, 2x2 kernel: the max 6 at (1,2); column-major index = 1 + 2*2 = 5.
  auto r = runOp(OpKind::MaxPool, {f32({1, 1, 2, 3}, {1, 2, 3, 4, 5, 6})},
                 {{"kernel_shape", ints({2, 2})}, {"storage_order", Attribute::ofInt(1)}}, 2);
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 1, 1, 2}, {5, 6});
  expectTensor((*r)[1], {1, 1, 1, 2}, {3, 5});
  r = runOp(OpKind::MaxPool, {f32({1, 1, 5}, {5, 1, 2, 9, 3})}, {{"kernel_shape", ints({2})}, {"dilations", ints({2})}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 1, 3}, {5, 9, 3});
}

TEST(NNKernels, AveragePoolCountIncludePad) {
  // torch.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True / False)
  std::map<std::string, Attribute> a{{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}};
  auto r = runOp(OpKind::AveragePool, {f32({1, 1, 4, 4}, {0.04,-0.39,0.16,0.92,0.29,-0.93,-0.14,0.02,0.07,0.36,-0.44,-0.74,-0.21,0.91,-0.63,0.81})}, a);
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1,1,2,2}, {-0.2475,-0.06,0.0816666667,-0.0866666667}, 1e-6);
  a["count_include_pad"] = Attribute::ofInt(1);
  r = runOp(OpKind::AveragePool, {f32({1, 1, 4, 4}, {0.04,-0.39,0.16,0.92,0.29,-0.93,-0.14,0.02,0.07,0.36,-0.44,-0.74,-0.21,0.91,-0.63,0.81})}, a);
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1,1,2,2}, {-0.11,-0.04,0.0544444444,-0.0866666667}, 1e-6);
}

TEST(NNKernels, GlobalPools) {
  Tensor x = f32({1, 2, 2, 2}, {1, 2, 3, 6, -1, -2, -3, -4});
  auto r = runOp(OpKind::GlobalAveragePool, {x});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 2, 1, 1}, {3, -2.5});
  r = runOp(OpKind::GlobalMaxPool, {x});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 2, 1, 1}, {6, -1});
}

TEST(NNKernels, BatchNormalizationInferenceAndTraining) {
  // y = (x - mean) / sqrt(var + eps) * scale + B with eps 0: channel 0 (x-1)/2*2+1, channel 1 (x-0)/1*0.5-1.
  Tensor x = f32({1, 2, 1, 2}, {3, 5, 2, 4});
  std::vector<Tensor> in{x, f32({2}, {2, 0.5f}), f32({2}, {1, -1}), f32({2}, {1, 0}), f32({2}, {4, 1})};
  auto r = runOp(OpKind::BatchNormalization, in, {{"epsilon", Attribute::ofFloat(0)}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 2, 1, 2}, {3, 5, 0, 1});
  // Training: batch mean (4, 3), population var (1, 1); running = input * 0.9 + batch * 0.1.
  r = runOp(OpKind::BatchNormalization, in, {{"epsilon", Attribute::ofFloat(0)}, {"training_mode", Attribute::ofInt(1)}}, 3);
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 2, 1, 2}, {-1, 3, -1.5, -0.5});
  expectTensor((*r)[1], {2}, {1.3, 0.3}, 1e-6);
  expectTensor((*r)[2], {2}, {3.7, 1.0}, 1e-6);
}

TEST(NNKernels, LayerNormalizationWithStats) {
  // torch.layer_norm over the last dim, eps 1e-5; Mean and InvStdDev keep the normalized dims as 1.
  auto r = runOp(OpKind::LayerNormalization, {f32({2, 3, 4}, {0.09,-0.09,0.76,-0.08,0.45,-0.2,0.81,0.38,0.4,-0.34,0.51,0.27,-0.52,-0.68,0.59,0.92,-0.08,0.18,0.72,-0.09,0.9,0.15,0.64,0.82}), f32({4}, {0.63,-0.68,0.26,-0.2}), f32({4}, {-0.87,-0.15,-0.48,0.7})}, {}, 3);
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {2, 3, 4}, {-1.01479411,0.357928554,-0.0392972837,0.843644953,-0.713439444,0.901468425,-0.156938535,0.688955164,-0.505865634,0.987729766,-0.242719461,0.663495302,-1.41569895,0.596734489,-0.286829022,0.455727506,-1.37315313,-0.144827753,-0.0548108819,0.86581615,-0.280739176,0.964507001,-0.468844633,0.567851803}, 1e-5);
  expectTensor((*r)[1], {2, 3, 1}, {0.17,0.36,0.21,0.0775,0.1825,0.6275}, 1e-6);
  expectTensor((*r)[2], {2, 3, 1}, {2.87289906,2.7612091,3.0420582,1.44968839,3.04249816,3.4324207}, 1e-4);
}

TEST(NNKernels, RMSNormalization) {
  // x / sqrt(mean(x², last dim) + 1e-5) * g, computed in f64 by NumPy; and over the last two dims.
  const Tensor x = f32({2, 3, 4}, {0.09,-0.09,0.76,-0.08,0.45,-0.2,0.81,0.38,0.4,-0.34,0.51,0.27,-0.52,-0.68,0.59,0.92,-0.08,0.18,0.72,-0.09,0.9,0.15,0.64,0.82});
  auto r = runOp(OpKind::RMSNormalization, {x, f32({4}, {0.63,-0.68,0.26,-0.2})}, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {2, 3, 4}, {0.146369,0.157986,0.510099,0.0413036,0.555178,0.266329,0.412418,-0.148831,0.646026,0.592704,0.339933,-0.138434,-0.471949,0.666145,0.220992,-0.265075,-0.134062,-0.325579,0.497945,0.0478793,0.81956,-0.147434,0.24052,-0.237051}, 1e-5);
  // Rows [1, 2, 2] and [3, 4, 0] over the last two dims with ε 0: mean squares 3 and 25/3.
  r = runOp(OpKind::RMSNormalization, {f32({2, 1, 3}, {1, 2, 2, 3, 4, 0}), f32({1, 3}, {1, 1, 2})},
            {{"axis", Attribute::ofInt(1)}, {"epsilon", Attribute::ofFloat(0)}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {2, 1, 3}, {1 / std::sqrt(3.0), 2 / std::sqrt(3.0), 4 / std::sqrt(3.0), 3 / std::sqrt(25.0 / 3), 4 / std::sqrt(25.0 / 3), 0}, 1e-6);
}

TEST(NNKernels, InstanceNormalization) {
  // Per (n, c): mean 2, var 1 over {1, 3}; y = (x - 2) * scale + B.
  auto r = runOp(OpKind::InstanceNormalization, {f32({1, 1, 2}, {1, 3}), f32({1}, {2}), f32({1}, {1})},
                 {{"epsilon", Attribute::ofFloat(0)}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 1, 2}, {-1, 3});
}

TEST(NNKernels, DropoutInferenceIsIdentity) {
  auto r = runOp(OpKind::Dropout, {f32({3}, {1, 2, 3})}, {}, 2);
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {3}, {1, 2, 3});
  expectTensor((*r)[1], {3}, {1, 1, 1});
}

TEST(NNKernels, LSTMOneStep) {
  // torch.nn.LSTM(2, 3), one step, batch 2, with initial h and c (weights reordered to i,o,f,c).
  auto r = runOp(OpKind::LSTM,
                 {f32({1, 2, 2}, {0.99,-0.1,-0.86,-0.41}), f32({1, 12, 2}, {-0.93,0.92,-0.29,-0.29,-0.97,-0.63,-0.86,-0.5,-0.56,-0.49,-0.74,-0.98,-0.2,0.86,-0.8,0.89,0.74,-0.09,-0.35,-0.53,0.23,-0.93,-0.97,-0.14}), f32({1, 12, 3}, {-0.77,0.24,0.95,0.98,-0.18,-0.67,0.28,-0.02,0.98,-0.3,0.63,0.97,0.94,0.81,-0.41,0.98,-0.5,-0.79,-0.87,0.57,-0.42,-0.52,0.33,-0.51,0.33,0.03,-0.15,0.11,-0.43,0.41,-0.17,-0.28,0.66,0.85,-0.91,-0.53}), f32({1, 24}, {0.9,-0.53,0.38,0.5,-0.52,-0.66,-0.88,0.46,0.76,-0.46,-0.24,-0.25,-0.1,-0.39,0.68,0.5,0.4,0.94,-0.52,0,0.89,0.27,0.73,0.88}),
                  Tensor(), f32({1, 2, 3}, {-0.7,-0.17,-0.74,0.21,-0.23,0.79}), f32({1, 2, 3}, {0.94,0.09,-0.45,0.18,0.79,-0.19})},
                 {{"hidden_size", Attribute::ofInt(3)}}, 3);
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 1, 2, 3}, {0.00700902824,0.0355231196,-0.19483497,0.47723561,0.335409201,0.453483199}, 1e-5);
  expectTensor((*r)[1], {1, 2, 3}, {0.00700902824,0.0355231196,-0.19483497,0.47723561,0.335409201,0.453483199}, 1e-5);
  expectTensor((*r)[2], {1, 2, 3}, {0.0176389322,0.145157178,-0.519334884,0.571271074,0.688013817,0.721508847}, 1e-5);
}

TEST(NNKernels, GRULinearBeforeReset) {
  // torch.nn.GRU(2, 3) applies r to (W_hn h + b_hn): ONNX linear_before_reset=1. Two steps.
  auto r = runOp(OpKind::GRU,
                 {f32({2, 1, 2}, {-0.18,0.25,0.77,0.24}), f32({1, 9, 2}, {-0.38,-0.25,0.05,0.5,-0.33,0.85,0.1,-0.46,-0.09,-0.2,-0.5,0.01,0.72,-0.9,-0.49,-0.11,-0.79,-0.3}), f32({1, 9, 3}, {-0.43,-0.94,0.42,-0.98,-0.25,0.06,0.84,-0.82,-0.19,0.48,0.36,0.24,0.42,-0.59,-0.32,0.35,0.76,0.09,-0.95,-0.31,0.24,-0.44,-0.58,-0.77,0.15,0.39,0.34}), f32({1, 18}, {0.2,0.18,0.93,0.9,-0.99,0.29,-0.97,0.39,0.63,-0.81,-0.12,0.04,0.02,-0.33,0.58,0.39,-0.82,-0.54}), Tensor(),
                  f32({1, 1, 3}, {-0.73,0.96,0.74})},
                 {{"hidden_size", Attribute::ofInt(3)}, {"linear_before_reset", Attribute::ofInt(1)}}, 2);
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {2, 1, 1, 3}, {-0.607380794,0.744510469,0.653982547,-0.129909251,0.443345636,0.196714743}, 1e-5);
  expectTensor((*r)[1], {1, 1, 3}, {-0.129909251,0.443345636,0.196714743}, 1e-5);
}

TEST(NNKernels, RNNReverseWithSequenceLens) {
  // H = Relu(x*W + h*R), W = 1, R = 1, hidden 1. Batch 0 has length 2 (reverse: t=1 then t=0),
  // batch 1 length 1 (only t=0; Y at t=1 stays 0).
  Tensor lens = Tensor::fromVector(DType::I32, {2}, std::vector<int32_t>{2, 1});
  auto r = runOp(OpKind::RNN,
                 {f32({2, 2, 1}, {1, 10, 2, 20}), f32({1, 1, 1}, {1}), f32({1, 1, 1}, {1}), Tensor(), lens},
                 {{"hidden_size", Attribute::ofInt(1)}, {"direction", Attribute::ofString("reverse")},
                  {"activations", Attribute::ofStrings({"Relu"})}},
                 2);
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {2, 1, 2, 1}, {3, 10, 2, 0});
  expectTensor((*r)[1], {1, 2, 1}, {3, 10});
}

TEST(NNKernels, ResizeLinearAlignCorners) {
  // torch.interpolate(size=(3, 5), mode='bilinear', align_corners=True)
  Tensor sizes = i64({4}, {1, 1, 3, 5});
  auto r = runOp(OpKind::Resize, {f32({1, 1, 2, 3}, {0.01,0.84,0.08,0.85,0.66,0.94}), Tensor(), Tensor(), sizes},
                 {{"mode", Attribute::ofString("linear")}, {"coordinate_transformation_mode", Attribute::ofString("align_corners")}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 1, 3, 5}, {0.01,0.425,0.84,0.46,0.08,0.43,0.59,0.75,0.63,0.51,0.85,0.755,0.66,0.8,0.94}, 1e-6);
}

TEST(NNKernels, ResizeNearestAsymmetricFloor) {
  // torch.interpolate(size=(4, 5), mode='nearest') is asymmetric coordinates with floor.
  Tensor sizes = i64({4}, {1, 1, 4, 5});
  auto r = runOp(OpKind::Resize, {f32({1, 1, 2, 3}, {0.01,0.84,0.08,0.85,0.66,0.94}), Tensor(), Tensor(), sizes},
                 {{"coordinate_transformation_mode", Attribute::ofString("asymmetric")},
                  {"nearest_mode", Attribute::ofString("floor")}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 1, 4, 5}, {0.01,0.01,0.84,0.84,0.08,0.01,0.01,0.84,0.84,0.08,0.85,0.85,0.66,0.66,0.94,0.85,0.85,0.66,0.66,0.94});
}

TEST(NNKernels, ResizeScalesNearestDefault) {
  // ONNX test_resize_upsample_scales_nearest: [[1,2],[3,4]] scaled (2, 3).
  Tensor scales = f32({4}, {1, 1, 2, 3});
  auto r = runOp(OpKind::Resize, {f32({1, 1, 2, 2}, {1, 2, 3, 4}), Tensor(), scales});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor((*r)[0], {1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
}

}  // namespace
}  // namespace dlc::testing
