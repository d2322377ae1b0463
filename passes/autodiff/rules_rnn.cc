// Recurrent layers (LSTM, GRU, RNN) are differentiated by unrolling them over their sequence into
// MatMul, Split and activation ops (backpropagation through time is then the ordinary reverse
// sweep). The unrolled form computes exactly ONNX's equations, written at each function.
#include "passes/autodiff/rules.h"

namespace dlc::autodiff {
namespace {

struct Rnn {
  Op& op;
  Emitter& e;
  int64_t seq = 0, batch = 0, hidden = 0, dirs = 1;
  bool batch_first = false;
  std::vector<std::string> acts;  // per direction, `per_dir` names each
};

Value* activate(Emitter& e, const std::string& name, Value* v) {
  if (name == "Sigmoid") return e.op(OpKind::Sigmoid, {v});
  if (name == "Tanh") return e.op(OpKind::Tanh, {v});
  if (name == "Relu") return e.op(OpKind::Relu, {v});
  e.fail(str("activation '", name, "' of a recurrent layer is not supported for differentiation (Sigmoid, Tanh, Relu)"));
  return nullptr;
}

// Checks what the unrolling supports and reads the static sizes.
Status prepare(Rnn& r, int per_dir, const std::vector<std::string>& defaults) {
  Op& op = r.op;
  Emitter& e = r.e;
  auto where = [&] { return str(op.name(), " '", op.location(), "': "); };
  if (op.hasAttr("clip")) return Status::error(where() + "cell clipping is not supported for differentiation");
  if (op.getInt("input_forget", 0) != 0) return Status::error(where() + "input_forget is not supported for differentiation");
  if (op.operand(4)) return Status::error(where() + "sequence_lens is not supported for differentiation (pad to one length)");
  std::string dir = op.getString("direction", "forward");
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional") return Status::error(where() + "unknown direction '" + dir + "'");
  r.dirs = dir == "bidirectional" ? 2 : 1;
  r.batch_first = op.getInt("layout", 0) != 0;
  Value* x = op.operand(0);
  r.seq = e.staticDim(x, r.batch_first ? 1 : 0, "the gradient of a recurrent layer (its sequence length)");
  r.batch = e.staticDim(x, r.batch_first ? 0 : 1, "the gradient of a recurrent layer (its batch)");
  r.hidden = e.staticDim(op.operand(2), 2, "the gradient of a recurrent layer (its hidden size)");
  if (!e.ok()) return e.status();
  std::vector<std::string> acts = op.getStrings("activations");
  if (acts.empty() || static_cast<int64_t>(acts.size()) < per_dir * r.dirs) {
    acts.clear();
    for (int64_t d = 0; d < r.dirs; ++d) acts.insert(acts.end(), defaults.begin(), defaults.end());
  }
  if (!op.getFloats("activation_alpha").empty() || !op.getFloats("activation_beta").empty())
    return Status::error(where() + "activation_alpha/beta are not supported for differentiation");
  r.acts = acts;
  return Status::success();
}

// Direction d's slice of a per-direction tensor [dirs, ...] as [...].
Value* direction(Emitter& e, Value* v, int64_t d) { return e.op(OpKind::Gather, {v, e.int64(d)}, {{"axis", Attribute::ofInt(0)}}); }

// X as [seq, batch, input]; an initial state [dirs, batch, H] (or zeros) for direction d.
Value* seqFirst(Rnn& r, Value* x) { return r.batch_first ? r.e.transpose(x, {1, 0, 2}) : x; }
Value* initialState(Rnn& r, Value* s, int64_t d) {
  if (!s) return r.e.constant(Tensor(r.op.operand(0)->type().dtype, {r.batch, r.hidden}));
  if (r.batch_first) s = r.e.transpose(s, {1, 0, 2});
  return direction(r.e, s, d);
}

// Y [seq, dirs, batch, H] (batch-first: [batch, seq, dirs, H]) from per-direction hidden states in
// time order, and the final states [dirs, batch, H] (batch-first: [batch, dirs, H]).
Value* stackOutputs(Rnn& r, const std::vector<std::vector<Value*>>& hs) {
  Emitter& e = r.e;
  std::vector<Value*> per_dir;
  for (const auto& steps : hs) {
    std::vector<Value*> rows;
    for (Value* h : steps) rows.push_back(e.unsqueeze(h, {0, 1}));  // [1, 1, batch, H]
    per_dir.push_back(rows.size() == 1 ? rows[0] : e.op(OpKind::Concat, rows, {{"axis", Attribute::ofInt(0)}}));
  }
  Value* y = per_dir.size() == 1 ? per_dir[0] : e.op(OpKind::Concat, per_dir, {{"axis", Attribute::ofInt(1)}});
  return r.batch_first ? e.transpose(y, {2, 0, 1, 3}) : y;
}
Value* stackFinal(Rnn& r, const std::vector<Value*>& last) {
  Emitter& e = r.e;
  std::vector<Value*> rows;
  for (Value* h : last) rows.push_back(e.unsqueeze(h, {0}));
  Value* s = rows.size() == 1 ? rows[0] : e.op(OpKind::Concat, rows, {{"axis", Attribute::ofInt(0)}});
  return r.batch_first ? e.transpose(s, {1, 0, 2}) : s;
}

// X·Wᵀ for every time step at once ([seq, batch, gates·H]) plus both biases when B is given.
Value* inputProjection(Rnn& r, Value* xs, int64_t d, int gates) {
  Emitter& e = r.e;
  Value* w = direction(e, r.op.operand(1), d);
  Value* xw = e.op(OpKind::MatMul, {xs, e.transpose(w, {1, 0})});
  if (Value* b = r.op.operand(3)) {
    Value* bd = direction(e, b, d);
    std::vector<Value*> halves = e.ops(OpKind::Split, {bd, e.ints({gates * r.hidden, gates * r.hidden})},
                                       {{"axis", Attribute::ofInt(0)}}, 2);
    // GRU's linear_before_reset keeps the recurrent bias of its h gate apart; the caller handles it.
    xw = e.add(xw, halves[0]);
    return e.add(xw, halves[1]);
  }
  return xw;
}

Value* timeStep(Emitter& e, Value* xw, int64_t t) { return e.op(OpKind::Gather, {xw, e.int64(t)}, {{"axis", Attribute::ofInt(0)}}); }

Status replaceResults(Op& op, Emitter& e, const std::vector<Value*>& values) {
  if (!e.ok()) return e.status();
  for (int i = 0; i < op.numResults(); ++i) {
    values[static_cast<size_t>(i)]->setName(op.result(i)->name());
    op.result(i)->replaceAllUsesWith(values[static_cast<size_t>(i)]);
  }
  op.erase();
  return Status::success();
}

}  // namespace

// LSTM (gates i, o, f, c in W, R, B; peepholes P = [Pi, Po, Pf]), per direction and step t:
//   i = f(XᵢWᵢᵀ + H·Rᵢᵀ + Pᵢ⊙C + b),  f' = f(X·W_fᵀ + H·R_fᵀ + P_f⊙C + b),  c̃ = g(X·W_cᵀ + H·R_cᵀ + b)
//   C' = f'⊙C + i⊙c̃,  o = f(X·W_oᵀ + H·R_oᵀ + P_o⊙C' + b),  H' = o⊙h(C')
Expected<bool> decomposeLstm(Op& op) {
  Emitter e(*op.parent(), &op, op.location());
  Rnn r{op, e};
  DLC_RETURN_IF_ERROR(prepare(r, 3, {"Sigmoid", "Tanh", "Tanh"}));
  const int64_t H = r.hidden;
  Value* xs = seqFirst(r, op.operand(0));
  std::vector<std::vector<Value*>> hs(static_cast<size_t>(r.dirs));
  std::vector<Value*> last_h, last_c;
  for (int64_t d = 0; d < r.dirs; ++d) {
    const std::string *fa = &r.acts[static_cast<size_t>(3 * d)], *ga = fa + 1, *ha = fa + 2;
    bool reverse = op.getString("direction", "forward") == "reverse" || d == 1;
    Value* xw = inputProjection(r, xs, d, 4);
    Value* rt = e.transpose(direction(e, op.operand(2), d), {1, 0});
    std::vector<Value*> peep;
    if (Value* p = op.operand(7)) peep = e.ops(OpKind::Split, {direction(e, p, d), e.ints({H, H, H})}, {{"axis", Attribute::ofInt(0)}}, 3);
    Value* h = initialState(r, op.operand(5), d);
    Value* c = initialState(r, op.operand(6), d);
    std::vector<Value*> steps(static_cast<size_t>(r.seq));
    for (int64_t k = 0; k < r.seq; ++k) {
      int64_t t = reverse ? r.seq - 1 - k : k;
      Value* z = e.add(timeStep(e, xw, t), e.op(OpKind::MatMul, {h, rt}));
      std::vector<Value*> g = e.ops(OpKind::Split, {z, e.ints({H, H, H, H})}, {{"axis", Attribute::ofInt(1)}}, 4);
      Value *gi = g[0], *go = g[1], *gf = g[2], *gc = g[3];
      if (!peep.empty()) {
        gi = e.add(gi, e.mul(peep[0], c));
        gf = e.add(gf, e.mul(peep[2], c));
      }
      Value* i = activate(e, *fa, gi);
      Value* f = activate(e, *fa, gf);
      c = e.add(e.mul(f, c), e.mul(i, activate(e, *ga, gc)));
      if (!peep.empty()) go = e.add(go, e.mul(peep[1], c));
      h = e.mul(activate(e, *fa, go), activate(e, *ha, c));
      steps[static_cast<size_t>(t)] = h;
    }
    hs[static_cast<size_t>(d)] = steps;
    last_h.push_back(h);
    last_c.push_back(c);
  }
  std::vector<Value*> results{stackOutputs(r, hs), stackFinal(r, last_h), stackFinal(r, last_c)};
  results.resize(static_cast<size_t>(op.numResults()));
  DLC_RETURN_IF_ERROR(replaceResults(op, e, results));
  return true;
}

// GRU (gates z, r, h), per direction and step:
//   z = f(X·W_zᵀ + H·R_zᵀ + b_z),  r = f(X·W_rᵀ + H·R_rᵀ + b_r),
//   h̃ = g(X·W_hᵀ + (r⊙H)·R_hᵀ + Rb_h + Wb_h)          (linear_before_reset = 0)
//   h̃ = g(X·W_hᵀ + r⊙(H·R_hᵀ + Rb_h) + Wb_h)          (linear_before_reset = 1, PyTorch's form)
//   H' = (1 − z)⊙h̃ + z⊙H
Expected<bool> decomposeGru(Op& op) {
  Emitter e(*op.parent(), &op, op.location());
  Rnn r{op, e};
  DLC_RETURN_IF_ERROR(prepare(r, 2, {"Sigmoid", "Tanh"}));
  const int64_t H = r.hidden;
  const bool lbr = op.getInt("linear_before_reset", 0) != 0;
  Value* xs = seqFirst(r, op.operand(0));
  std::vector<std::vector<Value*>> hs(static_cast<size_t>(r.dirs));
  std::vector<Value*> last_h;
  for (int64_t d = 0; d < r.dirs; ++d) {
    const std::string *fa = &r.acts[static_cast<size_t>(2 * d)], *ga = fa + 1;
    bool reverse = op.getString("direction", "forward") == "reverse" || d == 1;
    Value* w = direction(e, op.operand(1), d);
    Value* xw = e.op(OpKind::MatMul, {xs, e.transpose(w, {1, 0})});
    Value *wb = nullptr, *rb = nullptr;
    if (Value* b = op.operand(3)) {
      std::vector<Value*> halves = e.ops(OpKind::Split, {direction(e, b, d), e.ints({3 * H, 3 * H})}, {{"axis", Attribute::ofInt(0)}}, 2);
      wb = halves[0];
      rb = halves[1];
      xw = e.add(xw, wb);
    }
    std::vector<Value*> rg = e.ops(OpKind::Split, {direction(e, op.operand(2), d), e.ints({2 * H, H})}, {{"axis", Attribute::ofInt(0)}}, 2);
    Value* r_zr = e.transpose(rg[0], {1, 0});
    Value* r_h = e.transpose(rg[1], {1, 0});
    std::vector<Value*> rbs;
    if (rb) rbs = e.ops(OpKind::Split, {rb, e.ints({2 * H, H})}, {{"axis", Attribute::ofInt(0)}}, 2);
    Value* h = initialState(r, op.operand(5), d);
    std::vector<Value*> steps(static_cast<size_t>(r.seq));
    for (int64_t k = 0; k < r.seq; ++k) {
      int64_t t = reverse ? r.seq - 1 - k : k;
      std::vector<Value*> xg = e.ops(OpKind::Split, {timeStep(e, xw, t), e.ints({H, H, H})}, {{"axis", Attribute::ofInt(1)}}, 3);
      Value* hzr = e.op(OpKind::MatMul, {h, r_zr});
      if (rb) hzr = e.add(hzr, rbs[0]);
      std::vector<Value*> hg = e.ops(OpKind::Split, {hzr, e.ints({H, H})}, {{"axis", Attribute::ofInt(1)}}, 2);
      Value* z = activate(e, *fa, e.add(xg[0], hg[0]));
      Value* rr = activate(e, *fa, e.add(xg[1], hg[1]));
      Value* hh;
      if (lbr) {
        Value* lin = e.op(OpKind::MatMul, {h, r_h});
        if (rb) lin = e.add(lin, rbs[1]);
        hh = e.add(xg[2], e.mul(rr, lin));
      } else {
        hh = e.add(xg[2], e.op(OpKind::MatMul, {e.mul(rr, h), r_h}));
        if (rb) hh = e.add(hh, rbs[1]);
      }
      Value* cand = activate(e, *ga, hh);
      h = e.add(e.mul(e.sub(e.scalarLike(z, 1.0), z), cand), e.mul(z, h));
      steps[static_cast<size_t>(t)] = h;
    }
    hs[static_cast<size_t>(d)] = steps;
    last_h.push_back(h);
  }
  std::vector<Value*> results{stackOutputs(r, hs), stackFinal(r, last_h)};
  results.resize(static_cast<size_t>(op.numResults()));
  DLC_RETURN_IF_ERROR(replaceResults(op, e, results));
  return true;
}

// RNN, per direction and step: H' = f(X·Wᵀ + H·Rᵀ + Wb + Rb)
Expected<bool> decomposeRnn(Op& op) {
  Emitter e(*op.parent(), &op, op.location());
  Rnn r{op, e};
  DLC_RETURN_IF_ERROR(prepare(r, 1, {"Tanh"}));
  Value* xs = seqFirst(r, op.operand(0));
  std::vector<std::vector<Value*>> hs(static_cast<size_t>(r.dirs));
  std::vector<Value*> last_h;
  for (int64_t d = 0; d < r.dirs; ++d) {
    bool reverse = op.getString("direction", "forward") == "reverse" || d == 1;
    Value* xw = inputProjection(r, xs, d, 1);
    Value* rt = e.transpose(direction(e, op.operand(2), d), {1, 0});
    Value* h = initialState(r, op.operand(5), d);
    std::vector<Value*> steps(static_cast<size_t>(r.seq));
    for (int64_t k = 0; k < r.seq; ++k) {
      int64_t t = reverse ? r.seq - 1 - k : k;
      h = activate(e, r.acts[static_cast<size_t>(d)], e.add(timeStep(e, xw, t), e.op(OpKind::MatMul, {h, rt})));
      steps[static_cast<size_t>(t)] = h;
    }
    hs[static_cast<size_t>(d)] = steps;
    last_h.push_back(h);
  }
  std::vector<Value*> results{stackOutputs(r, hs), stackFinal(r, last_h)};
  results.resize(static_cast<size_t>(op.numResults()));
  DLC_RETURN_IF_ERROR(replaceResults(op, e, results));
  return true;
}

}  // namespace dlc::autodiff
