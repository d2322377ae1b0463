// Gradient checks (central differences in f64) of the data-movement ops and the recurrent layers.
#include "tests/unit/gradient_check.h"

namespace dlc::testing {
namespace {

Attribute i(int64_t v) { return Attribute::ofInt(v); }
Tensor i64s(std::vector<int64_t> shape, std::vector<int64_t> v) { return Tensor::fromVector(DType::I64, std::move(shape), v); }

const RegisterGradCases kTensor{
    {"tensor/Reshapes", [](GradCase& c) {
       c.out(c.op1(OpKind::Reshape, {c.input({2, 3, 4}), c.ints({4, -1})}));
       c.out(c.op1(OpKind::Flatten, {c.input({2, 3, 2})}, {{"axis", i(2)}}));
       c.out(c.op1(OpKind::Squeeze, {c.input({2, 1, 3}), c.ints({1})}));
       c.out(c.op1(OpKind::Unsqueeze, {c.input({2, 3}), c.ints({0, 3})}));
     }},
    {"tensor/Transpose", [](GradCase& c) {
       c.out(c.op1(OpKind::Transpose, {c.input({2, 3, 4})}, {{"perm", ints({2, 0, 1})}}));
       c.out(c.op1(OpKind::Transpose, {c.input({2, 3})}));
     }},
    {"tensor/Concat", [](GradCase& c) {
       c.out(c.op1(OpKind::Concat, {c.input({2, 1, 3}), c.input({2, 4, 3}), c.input({2, 2, 3})}, {{"axis", i(-2)}}));
     }},
    {"tensor/Split", [](GradCase& c) {
       std::vector<Value*> parts = c.op(OpKind::Split, {c.input({2, 6}), c.ints({1, 3, 2})}, {{"axis", i(1)}}, 3);
       c.out(parts[0]);
       c.out(parts[2]);  // the middle part is unused: its gradient is zero
     }},
    {"tensor/Slice", [](GradCase& c) {
       c.out(c.op1(OpKind::Slice, {c.input({4, 5}), c.ints({1, -4}), c.ints({3, 100}), c.ints({0, 1})}));
       c.out(c.op1(OpKind::Slice, {c.input({6, 5}), c.ints({5, 0}), c.ints({0, 5}), c.ints({0, 1}), c.ints({-2, 2})}));
     }},
    {"tensor/Gather", [](GradCase& c) {
       c.out(c.op1(OpKind::Gather, {c.input({5, 3}), c.addInput(i64s({2, 3}, {4, 0, 4, -1, 2, 0}))}));
       c.out(c.op1(OpKind::Gather, {c.input({2, 4, 3}), c.addInput(i64s({2}, {3, 3}))}, {{"axis", i(1)}}));
       c.out(c.op1(OpKind::Gather, {c.input({2, 4}), c.addInput(Tensor::scalar(DType::I64, 1))}, {{"axis", i(1)}}));
     }},
    {"tensor/GatherElements", [](GradCase& c) {
       c.out(c.op1(OpKind::GatherElements, {c.input({3, 4}), c.addInput(i64s({3, 2}, {0, 3, 3, 3, -1, 1}))}, {{"axis", i(1)}}));
     }},
    {"tensor/ScatterElements", [](GradCase& c) {
       // add: duplicate indices accumulate (a graph network's scatter-add); none: unique indices.
       c.out(c.op1(OpKind::ScatterElements, {c.input({3, 4}), c.addInput(i64s({3, 2}, {0, 3, 3, 3, -1, 1})), c.input({3, 2})},
                   {{"axis", i(1)}, {"reduction", Attribute::ofString("add")}}));
       c.out(c.op1(OpKind::ScatterElements, {c.input({4, 2}), c.addInput(i64s({2, 2}, {3, 0, -4, 2})), c.input({2, 2})}));
     }},
    {"tensor/ExpandTile", [](GradCase& c) {
       c.out(c.op1(OpKind::Expand, {c.input({3, 1}), c.ints({2, 3, 4})}));
       c.out(c.op1(OpKind::Tile, {c.input({2, 3}), c.ints({2, 3})}));
     }},
    {"tensor/Pad", [](GradCase& c) {
       c.out(c.op1(OpKind::Pad, {c.input({3, 4}), c.ints({1, 0, 2, 3}), c.scalar(0.5)}));
       c.out(c.op1(OpKind::Pad, {c.input({4, 5}), c.ints({-1, 2, 1, -2})}));
     }},
};

// Small recurrent layers (seq 3, batch 2, input 3, hidden 2); W, R, B and the initial states are
// all differentiated.
void recurrent(GradCase& c, OpKind kind, int gates, const std::string& direction, int layout,
               std::map<std::string, Attribute> attrs, bool peepholes = false) {
  int64_t dirs = direction == "bidirectional" ? 2 : 1, H = 2;
  Value* x = c.input(layout ? std::vector<int64_t>{2, 3, 3} : std::vector<int64_t>{3, 2, 3});
  std::vector<int64_t> state = layout ? std::vector<int64_t>{2, dirs, H} : std::vector<int64_t>{dirs, 2, H};
  std::vector<Value*> ops{x, c.input({dirs, gates * H, 3}), c.input({dirs, gates * H, H}), c.input({dirs, 2 * gates * H}),
                          nullptr, c.input(state)};
  if (kind == OpKind::LSTM) ops.push_back(c.input(state));
  if (peepholes) ops.push_back(c.input({dirs, 3 * H}));
  attrs["hidden_size"] = i(H);
  attrs["direction"] = Attribute::ofString(direction);
  attrs["layout"] = i(layout);
  int results = kind == OpKind::LSTM ? 3 : 2;
  for (Value* r : c.op(kind, ops, attrs, results)) c.out(r);
}

const RegisterGradCases kRnn{
    {"rnn/Lstm", [](GradCase& c) { recurrent(c, OpKind::LSTM, 4, "forward", 0, {}, true); }},
    {"rnn/LstmBidirectionalBatchFirst", [](GradCase& c) { recurrent(c, OpKind::LSTM, 4, "bidirectional", 1, {}); }},
    {"rnn/GruReverse", [](GradCase& c) { recurrent(c, OpKind::GRU, 3, "reverse", 0, {}); }},
    {"rnn/GruLinearBeforeReset", [](GradCase& c) {
       recurrent(c, OpKind::GRU, 3, "bidirectional", 0, {{"linear_before_reset", i(1)}});
     }},
    {"rnn/Rnn", [](GradCase& c) {
       recurrent(c, OpKind::RNN, 1, "bidirectional", 0, {{"activations", Attribute::ofStrings({"Tanh", "Relu"})}});
     }},
};

TEST(AutodiffGrad, Tensor) { checkGradFamily("tensor"); }
TEST(AutodiffGrad, Recurrent) { checkGradFamily("rnn"); }

}  // namespace
}  // namespace dlc::testing
