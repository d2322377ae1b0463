// Lowering of the elementwise ops: eltwise (unary) and binary primitives in whatever layout their
// input has (not Log, whose oneDNN approximation gives log(1) = -1.4e-6), and chains of them run
// as one primitive with post-ops.
//
// A chain is a binary op followed by the elementwise ops that each read the previous one's result
// (as its only reader) at the same shape: y = f_n(...f_2(f_1(a, b), c_2)..., c_n). oneDNN applies post-ops to
// the primitive's result in registers, so the chain reads each operand once and writes once
// instead of a full pass per op; every post-op rounds to f32 as the separate op would.
// Rewrites that keep the chain going:
//   c − x  (x the chain value): −x + c, an eltwise linear(−1) then a binary add;
//   x / c  (the chain value as divisor) ends the chain: 1/c then a product would round twice.
// Post-op operands are full-shaped (reordered to the chain's layout) or scalars.
#include <limits>

#include "backends/onednn/library/program.h"

namespace dlc::onednn {

using dnnl::algorithm;
using dnnl::memory;

namespace {

bool isUnary(OpKind k) {
  switch (k) {
    case OpKind::Relu: case OpKind::LeakyRelu: case OpKind::Elu: case OpKind::Sigmoid: case OpKind::Tanh:
    case OpKind::Exp: case OpKind::Sqrt: case OpKind::Abs: case OpKind::Neg: case OpKind::HardSwish:
    case OpKind::Gelu: case OpKind::Clip: return true;
    default: return false;
  }
}

bool isBinary(OpKind k) {
  switch (k) {
    case OpKind::Add: case OpKind::Mul: case OpKind::Sub: case OpKind::Div: case OpKind::Max: case OpKind::Min: return true;
    default: return false;
  }
}

// A scalar constant operand's value (Clip's min/max).
Expected<float> scalarConstant(Builder& b, const Op& op, int i, float fallback) {
  if (op.numOperands() <= i || !op.operand(i)) return fallback;
  DLC_ASSIGN_OR_RETURN(int t, b.tensorOf(op.operand(i)));
  if (!b.isConstant(t) || b.md(t).get_size() != sizeof(float))
    return Status::error(str(where(op), ": operand ", i, " must be a constant scalar"));
  return *static_cast<const float*>(b.constantData(t));
}

struct Eltwise {
  algorithm alg;
  float alpha = 0, beta = 0;
};

Expected<Eltwise> eltwiseOf(Builder& b, const Op& op) {
  switch (op.kind()) {
    case OpKind::Relu: return Eltwise{algorithm::eltwise_relu};
    case OpKind::LeakyRelu: return Eltwise{algorithm::eltwise_relu, op.getFloat("alpha", 0.01f)};
    case OpKind::Elu: return Eltwise{algorithm::eltwise_elu, op.getFloat("alpha", 1.0f)};
    case OpKind::Sigmoid: return Eltwise{algorithm::eltwise_logistic};
    case OpKind::Tanh: return Eltwise{algorithm::eltwise_tanh};
    case OpKind::Exp: return Eltwise{algorithm::eltwise_exp};
    case OpKind::Sqrt: return Eltwise{algorithm::eltwise_sqrt};
    case OpKind::Abs: return Eltwise{algorithm::eltwise_abs};
    case OpKind::Neg: return Eltwise{algorithm::eltwise_linear, -1.0f};
    case OpKind::HardSwish: return Eltwise{algorithm::eltwise_hardswish};
    case OpKind::Gelu:
      return Eltwise{op.getString("approximate", "none") == "tanh" ? algorithm::eltwise_gelu_tanh : algorithm::eltwise_gelu_erf};
    case OpKind::Clip: {
      Eltwise e{algorithm::eltwise_clip_v2};
      DLC_ASSIGN_OR_RETURN(e.alpha, scalarConstant(b, op, 1, -std::numeric_limits<float>::infinity()));
      DLC_ASSIGN_OR_RETURN(e.beta, scalarConstant(b, op, 2, std::numeric_limits<float>::infinity()));
      return e;
    }
    default: return Status::error(str(where(op), ": no oneDNN eltwise"));
  }
}

algorithm binaryAlg(OpKind k) {
  switch (k) {
    case OpKind::Add: return algorithm::binary_add;
    case OpKind::Mul: return algorithm::binary_mul;
    case OpKind::Sub: return algorithm::binary_sub;
    case OpKind::Div: return algorithm::binary_div;
    case OpKind::Max: return algorithm::binary_max;
    default: return algorithm::binary_min;
  }
}

bool commutative(OpKind k) { return k != OpKind::Sub && k != OpKind::Div; }

bool allOnes(const memory::dims& d) {
  for (auto v : d)
    if (v != 1) return false;
  return true;
}

// The ops after the head as post-ops on a result of layout `dst`, with their operands' arguments.
Status appendTail(Builder& b, const std::vector<const Op*>& chain, const memory::desc& dst, dnnl::post_ops& post,
                  std::vector<std::pair<int, int>>& args) {
  const int rank = dst.data.ndims;
  for (size_t i = 1; i < chain.size(); ++i) {
    const Op& op = *chain[i];
    if (isUnary(op.kind())) {
      DLC_ASSIGN_OR_RETURN(Eltwise e, eltwiseOf(b, op));
      post.append_eltwise(1.0f, e.alg, e.alpha, e.beta);
      continue;
    }
    const Value* previous = chain[i - 1]->result();
    const bool chain_first = op.operand(0) == previous;
    const Value* other = chain_first ? op.operand(1) : op.operand(0);
    algorithm alg = binaryAlg(op.kind());
    if (!chain_first && op.kind() == OpKind::Sub) {  // x − c = −c + x
      post.append_eltwise(1.0f, algorithm::eltwise_linear, -1.0f, 0.0f);
      alg = algorithm::binary_add;
    }
    DLC_ASSIGN_OR_RETURN(int t, b.tensorOf(other));
    memory::desc md;
    if (dimsOf(other->type()) == dst.dims()) {
      DLC_ASSIGN_OR_RETURN(t, b.ensure(t, dst));
      md = dst;
    } else {
      DLC_ASSIGN_OR_RETURN(t, b.ensurePlain(t));
      md = withRank(b.md(t), rank);
      t = b.view(t, md);
    }
    post.append_binary(alg, md);
    args.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(post.len() - 1) | DNNL_ARG_SRC_1, t});
  }
  return Status::success();
}

Status lowerEltwiseChain(Builder& b, const std::vector<const Op*>& chain) {
  const Op& op = *chain.front();
  if (!isF32OrBf16(op)) return Status::error(str(where(op), ": f32 or bf16 only"));
  DLC_ASSIGN_OR_RETURN(Eltwise e, eltwiseOf(b, op));
  DLC_ASSIGN_OR_RETURN(int x, b.tensorOf(op.operand(0)));
  dnnl::primitive_attr attr = Builder::baseAttr();
  dnnl::post_ops post;
  std::vector<std::pair<int, int>> tail_args;
  const memory::desc src = b.md(x);  // a copy: appendTail adds tensors
  DLC_RETURN_IF_ERROR(appendTail(b, chain, src, post, tail_args));
  attr.set_post_ops(post);
  dnnl::eltwise_forward::primitive_desc pd(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, e.alg, src, e.alpha, e.beta), attr, cpuEngine());
  int y = b.internal(pd.dst_desc());
  std::vector<std::pair<int, int>> args{{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}};
  args.insert(args.end(), tail_args.begin(), tail_args.end());
  b.exec(dnnl::eltwise_forward(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(chain.back()->result(), y);
  return Status::success();
}

// Binary ops with NumPy broadcasting: the full-shaped operand is src0 (in its own layout), the
// other broadcasts along its size-1 dims.
Status lowerBinaryChain(Builder& b, const std::vector<const Op*>& chain) {
  const Op& op = *chain.front();
  if (!isF32OrBf16(op)) return Status::error(str(where(op), ": f32 or bf16 only"));
  if (op.numOperands() != 2) return Status::error(str(where(op), ": two operands only"));
  memory::dims y = dimsOf(op.result()->type());
  const Value* first = op.operand(0);
  const Value* second = op.operand(1);
  if (dimsOf(first->type()) != y) {
    if (!commutative(op.kind()) || dimsOf(second->type()) != y) return Status::error(str(where(op), ": the first operand broadcasts"));
    std::swap(first, second);
  }
  DLC_ASSIGN_OR_RETURN(int s0, b.tensorOf(first));
  DLC_ASSIGN_OR_RETURN(int s1, b.tensorOf(second));
  int rank = static_cast<int>(y.size());
  memory::desc md1;
  if (dimsOf(second->type()) == y) {
    DLC_ASSIGN_OR_RETURN(s1, b.ensure(s1, b.md(s0)));
    md1 = b.md(s0);
  } else if (b.md(s0) == channelBlocked(y) && b.md(s0) != plainDesc(y) && isPerChannel(dimsOf(second->type()), y)) {
    // A per-channel operand of a channel-blocked tensor (BatchNorm's statistics): oneDNN's JIT
    // binary wants it blocked the same way (plain, it falls to the reference code, 20x slower).
    memory::dims d1(y.size(), 1);
    d1[1] = y[1];
    DLC_ASSIGN_OR_RETURN(s1, b.ensurePlain(s1));
    s1 = b.view(s1, plainDesc(d1));
    md1 = channelBlocked(d1);
    DLC_ASSIGN_OR_RETURN(s1, b.ensure(s1, md1));
  } else {
    DLC_ASSIGN_OR_RETURN(s1, b.ensurePlain(s1));
    md1 = withRank(b.md(s1), rank);
    s1 = b.view(s1, md1);
  }
  dnnl::primitive_attr attr = Builder::baseAttr();
  dnnl::post_ops post;
  std::vector<std::pair<int, int>> tail_args;
  const memory::desc src0 = b.md(s0);  // a copy: appendTail adds tensors
  DLC_RETURN_IF_ERROR(appendTail(b, chain, src0, post, tail_args));
  attr.set_post_ops(post);
  dnnl::binary::primitive_desc pd(dnnl::binary::desc(binaryAlg(op.kind()), src0, md1, src0), attr, cpuEngine());
  int out = b.internal(pd.dst_desc());
  std::vector<std::pair<int, int>> args{{DNNL_ARG_SRC_0, s0}, {DNNL_ARG_SRC_1, s1}, {DNNL_ARG_DST, out}};
  args.insert(args.end(), tail_args.begin(), tail_args.end());
  b.exec(dnnl::binary(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(chain.back()->result(), out);
  return Status::success();
}

}  // namespace

std::vector<const Op*> elementwiseChain(const Op& head) {
  std::vector<const Op*> chain;
  // Binary heads only: oneDNN 2.6 runs an eltwise primitive with post-ops in its reference code
  // (slower than two JIT passes, and wrong for 1-D tensors).
  if (!isBinary(head.kind()) || head.numOperands() != 2 || head.numResults() != 1 || !isF32OrBf16(head)) return chain;
  chain.push_back(&head);
  for (;;) {
    const Value* c = chain.back()->result();
    if (c->uses().size() != 1 || !c->uses()[0].user) break;  // read twice, or a segment output
    const Op& next = *c->uses()[0].user;
    if (next.parent() != head.parent() || next.numResults() != 1 || !isF32OrBf16(next) ||
        next.result()->type().dtype != head.result()->type().dtype)
      break;
    if (!next.result()->type().isTensor() || !next.result()->type().shape.isStatic() || !c->type().shape.isStatic() ||
        dimsOf(next.result()->type()) != dimsOf(c->type()))
      break;
    if (isUnary(next.kind())) {
      if (next.operand(0) != c) break;  // Clip's bounds
    } else if (isBinary(next.kind()) && next.numOperands() == 2) {
      const bool chain_first = next.operand(0) == c;
      if (!chain_first && next.kind() == OpKind::Div) break;
      const Type& other_type = (chain_first ? next.operand(1) : next.operand(0))->type();
      if (!other_type.isTensor() || !other_type.shape.isStatic()) break;
      const memory::dims other = dimsOf(other_type);
      if (other != dimsOf(c->type()) && !allOnes(other)) break;
    } else {
      break;
    }
    chain.push_back(&next);
  }
  if (chain.size() < 2) chain.clear();
  return chain;
}

Status lowerElementwiseChain(Builder& b, const std::vector<const Op*>& chain) { return lowerBinaryChain(b, chain); }

Status lowerEltwiseOp(Builder& b, const Op& op) { return lowerEltwiseChain(b, {&op}); }
Status lowerBinaryOp(Builder& b, const Op& op) { return lowerBinaryChain(b, {&op}); }

}  // namespace dlc::onednn
