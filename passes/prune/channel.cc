// Structured channel pruning (channel.h): the dependency groups, the ranking, the surgery.
#include "passes/prune/channel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "ir/builder.h"
#include "passes/name_set.h"
#include "passes/pattern.h"
#include "passes/prune/channel_group.h"
#include "passes/prune/channel_shapes.h"
#include "ir/reinfer.h"

namespace dlc::prune {
namespace {

using passes::constantValue;

// Where a value carries a group: along `axis`, each channel a block of `block` indices, the
// pattern `repeat` times (Slice's layout).
struct Carry {
  int group = 0;
  int axis = 0;
  int64_t block = 1;
  int64_t repeat = 1;
  bool plain() const { return block == 1 && repeat == 1; }
};

std::string nodeOf(const Op& op) { return str(op.name(), " '", op.location(), "'"); }

class Analysis {
 public:
  Analysis(const Graph& g, const ChannelOptions& options) : g_(g), options_(options) {}

  Status run() {
    std::unordered_set<const Op*> top;
    for (const auto& op : g_.body().ops()) top.insert(op.get());
    for (const auto& owned : g_.body().ops()) visit(*owned);
    for (const Value* v : g_.body().outputs())
      if (auto c = carry(v)) freeze(c->group, "reaches a graph output");
    // A use inside a nested region (If/Loop/Scan bodies read outer values) is not followed.
    for (const auto& [v, c] : carried_)
      for (const Use& u : v->uses())
        if (u.user && !top.count(u.user)) freeze(c.group, str("read inside the body of an op (", v->name(), ")"));
    return Status::success();
  }

  Expected<ChannelResult> result(bool with_kept) {
    std::vector<int> roots;
    for (size_t i = 0; i < groups_.size(); ++i)
      if (find(static_cast<int>(i)) == static_cast<int>(i)) roots.push_back(static_cast<int>(i));
    for (int root : roots) {
      Group& g = groups_[static_cast<size_t>(root)];
      for (const Op* p : g.producers)
        if (g.frozen.empty() && options_.exclude.count(p->location())) g.frozen = str("excluded by --exclude (", p->location(), ")");
      if (g.frozen.empty() && g.consumers.empty() && !g.feeds_concat && !g.split && g.channel_slices.empty())
        g.frozen = "no Conv, Gemm or MatMul reads it";
    }
    // A shape element two groups would rewrite differently keeps both whole.
    std::map<std::tuple<const Op*, int, int64_t>, int> edited;
    for (int root : roots)
      for (const ShapeElement& e : groups_[static_cast<size_t>(root)].edits) {
        auto [it, fresh] = edited.emplace(std::make_tuple(e.op, e.operand, e.element), root);
        if (!fresh && it->second != root) {
          freeze(root, str("shares a reshape's shape with other channels (", nodeOf(*e.op), ")"));
          freeze(it->second, str("shares a reshape's shape with other channels (", nodeOf(*e.op), ")"));
        }
      }
    // A Concat's group that must stay whole keeps its inputs' groups whole too.
    for (bool changed = true; changed;) {
      changed = false;
      for (int root : roots) {
        const Group& g = groups_[static_cast<size_t>(root)];
        if (g.frozen.empty()) continue;
        for (const Part& part : g.parts)
          if (part.group >= 0 && group(part.group).frozen.empty()) {
            group(part.group).frozen = str(g.split ? "split from channels that stay whole (" : !g.channel_slices.empty() ? "sliced from channels that stay whole ("
                                                                                                : "feeds a Concat whose channels stay whole (",
                                           g.frozen, ")");
            changed = true;
          }
      }
    }
    // Kept channels: ranked groups first, then Concat groups (in creation order, so nested ones
    // find their parts' sets already chosen).
    for (size_t k = 0; k < roots.size(); ++k) root_index_[roots[k]] = k;
    if (options_.criterion == Criterion::Taylor && options_.scores.size() != roots.size())
      return Status::error(str("internal error: Taylor scores for ", options_.scores.size(), " channel groups, the model has ", roots.size()));
    for (int pass = 0; pass < 2; ++pass)
      for (size_t k = 0; k < roots.size(); ++k) {
        const Group& g = groups_[static_cast<size_t>(roots[k])];
        if (g.parts.empty() != (pass == 0)) continue;
        kept_[roots[k]] = with_kept ? (g.parts.empty() ? chooseKept(g, k) : concatKept(g)) : std::vector<int64_t>{};
      }
    ChannelResult r;
    for (int root : roots) {
      Group& g = groups_[static_cast<size_t>(root)];
      ChannelGroup out;
      out.channels = g.channels;
      for (const Op* p : g.producers) out.producers.push_back(p->location());
      for (const Op* c : g.consumers) out.consumers.push_back(c->location());
      out.kept = kept_[root];
      if (g.frozen.empty() && !g.parts.empty() && static_cast<int64_t>(out.kept.size()) == g.channels)
        g.frozen = g.split ? "a Split whose outputs stay whole"
                   : !g.channel_slices.empty() ? "Slices whose outputs stay whole" : "a Concat whose inputs stay whole";
      out.frozen = g.frozen;
      for (const Slice& sl : g.slices) out.slices.push_back({sl.op->operand(sl.operand)->name(), sl.axis, sl.block, sl.repeat});
      r.groups.push_back(std::move(out));
    }
    flops(r);
    return r;
  }

  std::vector<int64_t> concatKept(const Group& g) {
    std::vector<int64_t> kept;
    if (!g.frozen.empty()) {  // whole (its parts were made whole too; merged part lists may overlap)
      kept.resize(static_cast<size_t>(g.channels));
      std::iota(kept.begin(), kept.end(), 0);
      return kept;
    }
    for (const Part& part : g.parts) {
      if (part.group < 0) {
        for (int64_t c = 0; c < part.channels; ++c) kept.push_back(part.offset + c);
        continue;
      }
      for (int64_t c : kept_[find(part.group)]) kept.push_back(part.offset + c);
    }
    return kept;
  }

  // The surgery: every slice of a pruned group, then the depthwise Convs' group attribute.
  Status apply(Graph& g) {
    passes::NameSet names(g);
    for (size_t i = 0; i < groups_.size(); ++i) {
      if (find(static_cast<int>(i)) != static_cast<int>(i)) continue;
      const Group& grp = groups_[i];
      const std::vector<int64_t>& kept = kept_[static_cast<int>(i)];
      if (static_cast<int64_t>(kept.size()) == grp.channels) continue;
      for (const Slice& s : grp.slices) {
        Op& op = const_cast<Op&>(*s.op);  // ops of `g`, which the caller lets us change
        const Tensor& t = *f32Constant(op.operand(s.operand));
        Builder b(g.body());
        b.setInsertionPoint(&op);
        Value* v = b.constant(slicedConstant(t, s.axis, kept, s.block, s.repeat), names.unique(op.operand(s.operand)->name() + "_pruned"));
        op.setOperand(s.operand, v);
      }
      for (const ShapeElement& e : grp.edits) {
        Op& op = const_cast<Op&>(*e.op);
        const Tensor* old = passes::constantValue(op.operand(e.operand));
        Tensor t = old ? old->clone() : Tensor(DType::I64, {1});
        t.setInt(e.element, e.value / grp.channels * static_cast<int64_t>(kept.size()));
        Builder b(g.body());
        b.setInsertionPoint(&op);
        op.setOperand(e.operand, b.constant(t, names.unique(op.operand(e.operand)->name() + "_pruned")));
      }
      if (grp.split) {  // the Split's sizes: its outputs' kept channels
        Tensor sizes(DType::I64, {static_cast<int64_t>(grp.parts.size())});
        for (size_t k = 0; k < grp.parts.size(); ++k)
          sizes.setInt(static_cast<int64_t>(k), static_cast<int64_t>(kept_[find(grp.parts[k].group)].size()));
        Op& op = const_cast<Op&>(*grp.split);
        Builder b(g.body());
        b.setInsertionPoint(&op);
        op.setOperands({op.operand(0), b.constant(sizes, names.unique(op.location() + "_split_pruned"))});
      }
      for (const Op* sl : grp.channel_slices) {  // each Slice's bounds: its part's kept channels, after the kept ones before it
        Op& op = const_cast<Op&>(*sl);
        const std::vector<SliceAxis> axes = *sliceAxes(op, rankOf(op.operand(0)));
        const int axis = carry(op.result())->axis;
        const int64_t element = std::find_if(axes.begin(), axes.end(), [&](const SliceAxis& a) { return a.axis == axis; }) - axes.begin();
        const int64_t first = sliceRange(axes[static_cast<size_t>(element)].start, axes[static_cast<size_t>(element)].end, grp.channels).first;
        const int64_t start = std::lower_bound(kept.begin(), kept.end(), first) - kept.begin();
        const int64_t count = static_cast<int64_t>(kept_[find(slice_part_.at(sl))].size());
        Builder b(g.body());
        b.setInsertionPoint(&op);
        auto bound = [&](int operand, int64_t value) {
          Tensor t = constantValue(op.operand(operand))->clone();
          t.setInt(element, value);
          op.setOperand(operand, b.constant(t, names.unique(op.location() + (operand == 1 ? "_starts_pruned" : "_ends_pruned"))));
        };
        bound(1, start);
        bound(2, start + count);
      }
      for (const Op* d : grp.depthwise)  // one group per remaining channel of its (sliced) weight
        const_cast<Op*>(d)->setAttr("group", Attribute::ofInt(f32Constant(d->operand(1))->dim(0)));
    }
    return reinferTypes(g.body()).status();
  }

 private:
  int find(int g) {
    while (groups_[static_cast<size_t>(g)].parent != g) {
      groups_[static_cast<size_t>(g)].parent = groups_[static_cast<size_t>(groups_[static_cast<size_t>(g)].parent)].parent;
      g = groups_[static_cast<size_t>(g)].parent;
    }
    return g;
  }
  Group& group(int g) { return groups_[static_cast<size_t>(find(g))]; }

  int newGroup(int64_t channels) {
    Group g;
    g.parent = static_cast<int>(groups_.size());
    g.channels = channels;
    groups_.push_back(g);
    return g.parent;
  }

  int unite(int a, int b) {
    a = find(a), b = find(b);
    if (a == b) return a;
    Group& ga = groups_[static_cast<size_t>(a)];
    Group& gb = groups_[static_cast<size_t>(b)];
    if (ga.channels != gb.channels && ga.frozen.empty()) ga.frozen = "its tensors disagree on the channel count";
    auto append = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
    append(ga.producers, gb.producers), append(ga.consumers, gb.consumers), append(ga.depthwise, gb.depthwise);
    append(ga.norms, gb.norms), append(ga.slices, gb.slices), append(ga.edits, gb.edits);
    if ((!ga.parts.empty() || !gb.parts.empty()) && ga.frozen.empty()) ga.frozen = "a Concat's channels combined with other channels";
    append(ga.parts, gb.parts);
    ga.feeds_concat = ga.feeds_concat || gb.feeds_concat;
    if (!ga.split) ga.split = gb.split;
    append(ga.channel_slices, gb.channel_slices);
    if (ga.source < 0) ga.source = gb.source, ga.source_offset = gb.source_offset;
    if (ga.frozen.empty()) ga.frozen = gb.frozen;
    gb.parent = a;
    return a;
  }

  void freeze(int g, const std::string& why) {
    Group& grp = group(g);
    if (grp.frozen.empty()) grp.frozen = why;
  }

  const Carry* carry(const Value* v) const {
    auto it = v ? carried_.find(v) : carried_.end();
    return it == carried_.end() ? nullptr : &it->second;
  }
  void setCarry(const Value* v, int g, int axis, int64_t block, int64_t repeat = 1) {
    carried_[v] = Carry{find(g), axis, block, repeat};
  }
  void carryOn(const Value* v, const Carry& c, int axis, Dims dims) {
    setCarry(v, c.group, axis, c.block, c.repeat);
    dims_[v] = std::move(dims);
  }
  Dims dimsOf(const Value* v) const {
    auto it = dims_.find(v);
    return it != dims_.end() ? it->second : typeDims(v);
  }

  // The group's channels become coarser: `unit` consecutive channels, `outer` such patterns,
  // make one (a Reshape split the features into heads). Every slice and carried value follows.
  bool coarsen(int g, int64_t unit, int64_t outer, const Op& at) {
    const int root = find(g);
    Group& grp = groups_[static_cast<size_t>(root)];
    if (!grp.parts.empty() || grp.feeds_concat || grp.source >= 0) {
      freeze(root, str("split into heads by ", nodeOf(at), " but also a Concat's or a Split's"));
      return false;
    }
    grp.channels /= unit * outer;
    for (Slice& sl : grp.slices) sl.block *= unit, sl.repeat *= outer;
    for (auto& [v, c] : carried_)
      if (find(c.group) == root) c.block *= unit, c.repeat *= outer;
    return true;
  }

  // A new group for `op`'s output channels (result along `axis`), with its weight (and bias) slices.
  void produce(const Op& op, int64_t channels, int axis, std::vector<Slice> slices, const std::string& frozen) {
    int g = newGroup(channels);
    Group& grp = group(g);
    grp.producers.push_back(&op);
    grp.slices = std::move(slices);
    grp.frozen = frozen;
    setCarry(op.result(), g, axis, 1);
  }

  // Dims the types lost that later ops need (a mask built at run time from constant pieces).
  void inferDims(const Op& op) {
    if (op.numResults() != 1 || typeDims(op.result()).empty()) return;
    Dims typed = typeDims(op.result());
    if (std::find(typed.begin(), typed.end(), -1) == typed.end()) return;
    Dims d;
    if (op.kind() == OpKind::ConstantOfShape) {
      d = shapeOperandDims(op.operand(0));
    } else if (op.info().has(kElementwise) || op.kind() == OpKind::Where) {
      d.assign(typed.size(), 1);
      for (int i = 0; i < op.numOperands(); ++i) {
        const Dims od = dimsOf(op.operand(i));
        if (od.size() > d.size()) return;
        for (size_t k = 0; k < od.size(); ++k) {
          int64_t& o = d[d.size() - od.size() + k];
          if (od[k] != 1) o = (o == 1 || o == od[k]) && od[k] >= 0 ? od[k] : -1;
        }
      }
    }
    if (d.size() != typed.size()) return;
    for (size_t k = 0; k < d.size(); ++k)
      if (typed[k] >= 0) d[k] = typed[k];
    dims_[op.result()] = d;
  }

  void visit(const Op& op) {
    inferDims(op);
    std::vector<int> carried_operands;
    for (int i = 0; i < op.numOperands(); ++i)
      if (carry(op.operand(i))) carried_operands.push_back(i);
    switch (op.kind()) {
      case OpKind::Conv: return visitConv(op, carried_operands);
      case OpKind::Gemm: case OpKind::MatMul: return visitLinear(op, carried_operands);
      case OpKind::BatchNormalization: return visitNorm(op, carried_operands);
      case OpKind::MaxPool: case OpKind::AveragePool: case OpKind::GlobalAveragePool: case OpKind::GlobalMaxPool:
        if (carried_operands.empty()) return;
        if (op.numResults() == 1 && carried_operands == std::vector<int>{0} && carry(op.operand(0))->axis == 1 &&
            carry(op.operand(0))->plain()) {
          const Carry c = *carry(op.operand(0));
          return setCarry(op.result(), c.group, 1, 1);
        }
        return freezeOperands(op, carried_operands);
      case OpKind::Flatten: case OpKind::Reshape: return visitReshape(op, carried_operands);
      case OpKind::Concat: return visitConcat(op, carried_operands);
      case OpKind::Slice: return visitSlice(op, carried_operands);
      case OpKind::Transpose: case OpKind::Squeeze: case OpKind::Unsqueeze: case OpKind::Split: case OpKind::Softmax:
      case OpKind::LogSoftmax: case OpKind::Hardmax: case OpKind::ReduceMean: case OpKind::ReduceSum: case OpKind::ReduceMax:
      case OpKind::ReduceMin: case OpKind::ReduceL1: case OpKind::ReduceL2: case OpKind::ReduceSumSquare:
        return visitAxisOp(op, carried_operands);
      default:
        if (carried_operands.empty()) return;
        if (op.info().has(kElementwise) && op.numResults() == 1) return visitElementwise(op, carried_operands);
        return freezeOperands(op, carried_operands);
    }
  }

  void freezeOperands(const Op& op, const std::vector<int>& operands) {
    for (int i : operands) freeze(carry(op.operand(i))->group, str("read by ", nodeOf(op)));
  }

  void visitConv(const Op& op, const std::vector<int>& carried_operands) {
    const Tensor* w = f32Constant(op.operand(1));
    const int64_t groups = op.getInt("group", 1);
    const bool bias_ok = op.numOperands() < 3 || !op.operand(2) || f32Constant(op.operand(2));
    for (int i : carried_operands) {
      const Carry c = *carry(op.operand(i));
      if (i != 0 || !w || c.axis != 1 || !c.plain()) {
        freeze(c.group, str("read by ", nodeOf(op), " other than as its input"));
        continue;
      }
      const int64_t in = staticDim(op.operand(0), 1);
      if (groups == 1) {
        Group& grp = group(c.group);
        grp.consumers.push_back(&op);
        grp.slices.push_back({&op, 1, 1, 1, false});
      } else if (groups == in && w->dim(0) == in && w->dim(1) == 1 && bias_ok) {
        // Depthwise: channel c in, channel c out. Its weight and bias follow the group.
        Group& grp = group(c.group);
        grp.depthwise.push_back(&op);
        grp.slices.push_back({&op, 1, 0, 1, false});
        if (op.numOperands() > 2 && op.operand(2)) grp.slices.push_back({&op, 2, 0, 1, false});
        setCarry(op.result(), c.group, 1, 1);
        return;
      } else {
        freeze(c.group, str("read by the grouped ", nodeOf(op)));
      }
    }
    if (!w || groups != 1 || rankOf(op.result()) < 3) return;
    std::vector<Slice> slices{{&op, 1, 0, 1, true}};
    if (op.numOperands() > 2 && op.operand(2) && bias_ok) slices.push_back({&op, 2, 0, 1, false});
    produce(op, w->dim(0), 1, slices, bias_ok ? "" : str("the bias of ", nodeOf(op), " is not a constant"));
  }

  // Gemm (transA 0) and MatMul with a constant 2-D weight: K follows the input's group, N starts one.
  void visitLinear(const Op& op, const std::vector<int>& carried_operands) {
    const bool gemm = op.kind() == OpKind::Gemm;
    const Tensor* b = f32Constant(op.operand(1));
    if (!gemm && !constantValue(op.operand(1)) && !carried_operands.empty()) return visitBatchedMatMul(op, carried_operands);
    const bool trans_b = gemm && op.getInt("transB", 0) != 0;
    const bool usable = b && b->rank() == 2 && (!gemm || op.getInt("transA", 0) == 0);
    const int k_axis = trans_b ? 1 : 0, n_axis = trans_b ? 0 : 1;
    const int out_axis = rankOf(op.result()) - 1;
    for (int i : carried_operands) {
      const Carry c = *carry(op.operand(i));
      if (i != 0 || !usable || c.axis != rankOf(op.operand(0)) - 1) {
        freeze(c.group, str("read by ", nodeOf(op), " other than as the rows of its input"));
        continue;
      }
      Group& grp = group(c.group);
      grp.consumers.push_back(&op);
      grp.slices.push_back({&op, 1, k_axis, c.block, false, c.repeat});
    }
    if (!usable || out_axis < 0) return;
    std::vector<Slice> slices{{&op, 1, n_axis, 1, true}};
    std::string frozen;
    if (gemm && op.numOperands() > 2 && op.operand(2)) {
      const Tensor* c = f32Constant(op.operand(2));
      const int64_t n = b->dim(n_axis);
      if (!c) frozen = str("C of ", nodeOf(op), " is not a constant");
      else if (c->rank() >= 1 && c->dim(c->rank() - 1) == n && n > 1) slices.push_back({&op, 2, c->rank() - 1, 1, false});
      else if (c->numel() != 1) frozen = str("C of ", nodeOf(op), " does not broadcast along the features");
    }
    produce(op, b->dim(n_axis), out_axis, slices, frozen);
  }

  void visitNorm(const Op& op, const std::vector<int>& carried_operands) {
    if (carried_operands.empty()) return;
    const Carry c = *carry(op.operand(0));
    bool ok = carried_operands == std::vector<int>{0} && op.numResults() == 1 && c.axis == 1 && c.plain();
    for (int i = 1; i <= 4 && ok; ++i) ok = f32Constant(op.operand(i)) != nullptr;
    if (!ok) return freezeOperands(op, carried_operands);
    Group& grp = group(c.group);
    grp.norms.push_back(&op);
    for (int i = 1; i <= 4; ++i) grp.slices.push_back({&op, i, 0, 1, false});
    setCarry(op.result(), c.group, 1, 1);
  }

  // Flatten and Reshape: where the channels land (channel_shapes.h); a Reshape's shape element
  // holding them shrinks with them.
  void visitReshape(const Op& op, const std::vector<int>& carried_operands) {
    if (carried_operands.empty()) return;
    if (carried_operands != std::vector<int>{0}) return freezeOperands(op, carried_operands);
    const Carry c = *carry(op.operand(0));
    const Dims in = dimsOf(op.operand(0));
    Dims out;
    if (op.kind() == OpKind::Flatten) {
      int64_t axis = op.getInt("axis", 1);
      if (axis < 0) axis += static_cast<int64_t>(in.size());
      out = {1, 1};
      for (size_t d = 0; d < in.size(); ++d) {
        int64_t& o = out[d < static_cast<size_t>(axis) ? 0 : 1];
        o = (o < 0 || in[d] < 0) ? -1 : o * in[d];
      }
    } else {
      out = reshapeDims(op, in);
    }
    std::optional<ReshapeCarry> rc = reshapeCarry(in, out, c.axis, group(c.group).channels, c.block, c.repeat);
    if (!rc) return freeze(c.group, str("read by ", nodeOf(op), " (a reshape that does not keep whole channels apart)"));
    if (op.kind() == OpKind::Reshape) {
      std::optional<ShapeElement> e = shapeElement(op, rc->axis);
      if (!e || e->value == 0) return freeze(c.group, str("read by ", nodeOf(op), ", whose shape element ", rc->axis, " is not a constant"));
      if (e->value > 0) group(c.group).edits.push_back(*e);  // a -1 follows by itself
    }
    if (rc->unit * rc->outer != 1 && !coarsen(c.group, rc->unit, rc->outer, op)) return;
    setCarry(op.result(), c.group, rc->axis, rc->block, rc->repeat);
    dims_[op.result()] = out;
  }

  // Ops along one axis other than the channels' (Transpose, Squeeze, Unsqueeze, Split,
  // Softmax, reductions): the channels move to wherever that axis leaves them.
  void visitAxisOp(const Op& op, const std::vector<int>& carried_operands) {
    if (carried_operands.empty()) return;
    if (carried_operands != std::vector<int>{0}) return freezeOperands(op, carried_operands);
    const Carry c = *carry(op.operand(0));
    Dims in = dimsOf(op.operand(0));
    const int rank = static_cast<int>(in.size());
    auto refuse = [&](const std::string& why) { freeze(c.group, str("read by ", nodeOf(op), why)); };
    if (rank == 0) return refuse(" (rank unknown)");
    switch (op.kind()) {
      case OpKind::Transpose: {
        std::vector<int64_t> perm = op.getInts("perm");
        if (perm.empty())
          for (int d = rank - 1; d >= 0; --d) perm.push_back(d);
        if (static_cast<int>(perm.size()) != rank) return refuse(" (perm does not fit)");
        Dims out;
        int axis = -1;
        for (int p = 0; p < rank; ++p) {
          out.push_back(in[static_cast<size_t>(perm[static_cast<size_t>(p)])]);
          if (perm[static_cast<size_t>(p)] == c.axis) axis = p;
        }
        return carryOn(op.result(), c, axis, out);
      }
      case OpKind::Squeeze: {
        auto axes = constantAxes(op, rank);
        if (!axes) return refuse(" (its axes are not constants)");
        Dims out;
        int axis = c.axis;
        for (int d = 0; d < rank; ++d) {
          const bool gone = std::count(axes->begin(), axes->end(), d) > 0;
          if (gone && d == c.axis) return refuse(" (it squeezes the channels)");
          if (gone && d < c.axis) --axis;
          if (!gone) out.push_back(in[static_cast<size_t>(d)]);
        }
        return carryOn(op.result(), c, axis, out);
      }
      case OpKind::Unsqueeze: {
        const Tensor* t = op.numOperands() > 1 ? constantValue(op.operand(1)) : nullptr;
        if (!t) return refuse(" (its axes are not constants)");
        const int out_rank = rank + static_cast<int>(t->numel());
        std::vector<int64_t> axes = *constantAxes(op, out_rank);
        Dims out;
        int axis = -1;
        for (int d = 0, from = 0; d < out_rank; ++d) {
          if (std::count(axes.begin(), axes.end(), d)) {
            out.push_back(1);
            continue;
          }
          if (from >= rank) return refuse(" (its axes do not fit)");
          if (from == c.axis) axis = d;
          out.push_back(in[static_cast<size_t>(from++)]);
        }
        return carryOn(op.result(), c, axis, out);
      }
      case OpKind::Split: {
        int64_t axis = op.getInt("axis", 0);
        if (axis < 0) axis += rank;
        if (axis == c.axis) return splitChannels(op, c, in, static_cast<int>(axis));
        for (int r = 0; r < op.numResults(); ++r) {
          Dims out = in;
          const Dims typed = typeDims(op.result(r));
          out[static_cast<size_t>(axis)] = typed.size() == in.size() ? typed[static_cast<size_t>(axis)] : -1;
          carryOn(op.result(r), c, c.axis, out);
        }
        return;
      }
      case OpKind::Softmax: case OpKind::LogSoftmax: case OpKind::Hardmax: {
        int64_t axis = op.getInt("axis", -1);
        if (axis < 0) axis += rank;
        if (axis == c.axis) return refuse(" along the channels");
        return carryOn(op.result(), c, c.axis, in);
      }
      default: {  // reductions
        auto axes = constantAxes(op, rank);
        if (!axes) return refuse(" (its axes are not constants)");
        const bool keep = op.getInt("keepdims", 1) != 0;
        Dims out;
        int axis = c.axis;
        for (int d = 0; d < rank; ++d) {
          const bool reduced = std::count(axes->begin(), axes->end(), d) > 0;
          if (reduced && d == c.axis) return refuse(" (it reduces over the channels)");
          if (reduced && !keep && d < c.axis) --axis;
          if (!reduced) out.push_back(in[static_cast<size_t>(d)]);
          else if (keep) out.push_back(1);
        }
        return carryOn(op.result(), c, axis, out);
      }
    }
  }

  // A Split along the channels: each output's channels are a group of their own (ranked with the
  // input's producers at their offset), and the input's kept set is theirs at their offsets.
  void splitChannels(const Op& op, const Carry& c, const Dims& in, int axis) {
    const int root = find(c.group);
    auto refuse = [&](const std::string& why) { freeze(root, str("split by ", nodeOf(op), why)); };
    if (!c.plain()) return refuse(" (the channels are blocks)");
    if (!groups_[static_cast<size_t>(root)].parts.empty() || groups_[static_cast<size_t>(root)].source >= 0)
      return refuse(" (they are already a Concat's or a Split's)");
    const int64_t channels = groups_[static_cast<size_t>(root)].channels;
    std::vector<int64_t> sizes;
    if (op.numOperands() > 1 && op.operand(1)) {
      const Tensor* t = constantValue(op.operand(1));
      if (!t) return refuse(" (its sizes are not constants)");
      for (int64_t i = 0; i < t->numel(); ++i) sizes.push_back(t->getInt(i));
    } else if (channels % op.numResults() == 0) {
      sizes.assign(static_cast<size_t>(op.numResults()), channels / op.numResults());
    }
    if (static_cast<int>(sizes.size()) != op.numResults() || std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) != channels)
      return refuse(" (its sizes do not add up to the channels)");
    std::vector<Part> parts;
    int64_t offset = 0;
    for (int r = 0; r < op.numResults(); ++r) {
      const int part = newGroup(sizes[static_cast<size_t>(r)]);
      groups_[static_cast<size_t>(part)].source = root;
      groups_[static_cast<size_t>(part)].source_offset = offset;
      parts.push_back({part, offset, sizes[static_cast<size_t>(r)]});
      Dims out = in;
      out[static_cast<size_t>(axis)] = sizes[static_cast<size_t>(r)];
      setCarry(op.result(r), part, axis, 1);
      dims_[op.result(r)] = out;
      offset += sizes[static_cast<size_t>(r)];
    }
    groups_[static_cast<size_t>(root)].parts = std::move(parts);
    groups_[static_cast<size_t>(root)].split = &op;
  }

  // A Slice: along other axes the channels pass through; along the channels (constant bounds, step
  // 1; other axes may be sliced too) it is one part of its input, as a Split's output is: every such Slice of the input
  // becomes a part at its offset when the first is met (they must not overlap), and channels no
  // Slice takes are a part kept whole. torch exports `chunk` and `x[:, a:b]` this way.
  static const SliceAxis& channelAxis(const std::vector<SliceAxis>& axes, int axis) {
    return *std::find_if(axes.begin(), axes.end(), [&](const SliceAxis& a) { return a.axis == axis; });
  }

  void visitSlice(const Op& op, const std::vector<int>& carried_operands) {
    if (carried_operands.empty()) return;
    if (carried_operands != std::vector<int>{0}) return freezeOperands(op, carried_operands);
    const Carry c = *carry(op.operand(0));
    const Dims in = dimsOf(op.operand(0));
    const int rank = static_cast<int>(in.size());
    auto refuse = [&](const std::string& why) { freeze(c.group, str("sliced by ", nodeOf(op), why)); };
    const std::optional<std::vector<SliceAxis>> axes = rank ? sliceAxes(op, rank) : std::nullopt;
    if (!axes) return refuse(" (its bounds are not constants)");
    const bool on_channels = std::any_of(axes->begin(), axes->end(), [&](const SliceAxis& a) { return a.axis == c.axis; });
    if (!on_channels) {
      Dims out = in;
      const Dims typed = typeDims(op.result());
      for (const SliceAxis& a : *axes) out[static_cast<size_t>(a.axis)] = typed.size() == in.size() ? typed[static_cast<size_t>(a.axis)] : -1;
      return carryOn(op.result(), c, c.axis, out);
    }
    const SliceAxis& mine = channelAxis(*axes, c.axis);
    if (mine.step != 1) return refuse(" (along the channels with a step)");
    if (slice_part_.count(&op) == 0) {
      const int root = find(c.group);
      if (!c.plain()) return refuse(" (the channels are blocks)");
      if (!groups_[static_cast<size_t>(root)].parts.empty() || groups_[static_cast<size_t>(root)].source >= 0)
        return refuse(" (they are already a Concat's, a Split's or sliced)");
      const int64_t channels = groups_[static_cast<size_t>(root)].channels;  // (newGroup moves groups_)
      // Every Slice of this tensor along the channels, by offset.
      std::vector<std::pair<std::pair<int64_t, int64_t>, const Op*>> ranges;
      for (const Use& u : op.operand(0)->uses()) {
        const Op* user = u.user;
        if (!user || user->kind() != OpKind::Slice || u.index != 0) continue;
        const std::optional<std::vector<SliceAxis>> ua = sliceAxes(*user, rank);
        if (!ua || std::none_of(ua->begin(), ua->end(), [&](const SliceAxis& x) { return x.axis == c.axis; })) continue;
        const SliceAxis& theirs = channelAxis(*ua, c.axis);
        if (theirs.step != 1) continue;  // refused when visited
        if (std::any_of(ranges.begin(), ranges.end(), [&](const auto& r) { return r.second == user; })) continue;
        ranges.push_back({sliceRange(theirs.start, theirs.end, channels), user});
      }
      std::sort(ranges.begin(), ranges.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (size_t k = 0; k < ranges.size(); ++k)
        if (ranges[k].first.first == ranges[k].first.second || (k && ranges[k].first.first < ranges[k - 1].first.second))
          return refuse(" (Slices of the channels overlap or are empty)");
      std::vector<Part> parts;
      int64_t offset = 0;
      for (const auto& [range, user] : ranges) {
        if (range.first > offset) parts.push_back({-1, offset, range.first - offset});
        const int part = newGroup(range.second - range.first);
        groups_[static_cast<size_t>(part)].source = root;
        groups_[static_cast<size_t>(part)].source_offset = range.first;
        parts.push_back({part, range.first, range.second - range.first});
        slice_part_[user] = part;
        offset = range.second;
      }
      if (offset < channels) parts.push_back({-1, offset, channels - offset});
      Group& root_group = groups_[static_cast<size_t>(root)];
      root_group.parts = std::move(parts);
      for (const auto& r : ranges) root_group.channel_slices.push_back(r.second);
    }
    const int part = slice_part_.at(&op);
    Dims out = in;
    const Dims typed = typeDims(op.result());
    for (const SliceAxis& a : *axes) out[static_cast<size_t>(a.axis)] = typed.size() == in.size() ? typed[static_cast<size_t>(a.axis)] : -1;
    out[static_cast<size_t>(c.axis)] = groups_[static_cast<size_t>(part)].channels;
    setCarry(op.result(), part, c.axis, 1);
    dims_[op.result()] = out;
  }

  // MatMul of two activations (attention's Q·Kᵀ and P·V): channels on a batch axis pass through;
  // both operands carrying them join their groups.
  void visitBatchedMatMul(const Op& op, const std::vector<int>& carried_operands) {
    const Dims a = dimsOf(op.operand(0)), b = dimsOf(op.operand(1));
    const int ra = static_cast<int>(a.size()), rb = static_cast<int>(b.size()), rr = std::max(ra, rb);
    auto refuse = [&](const std::string& why) { freezeOperands(op, carried_operands); (void)why; };
    if (ra < 2 || rb < 2) return refuse("");
    int axis = -1, g = -1;
    Carry first;
    for (int i : carried_operands) {
      const Carry c = *carry(op.operand(i));
      const int rank = i == 0 ? ra : rb;
      const int aligned = c.axis + rr - rank;
      if (c.axis >= rank - 2 || (axis >= 0 && (aligned != axis || c.block != first.block || c.repeat != first.repeat)))
        return freezeOperands(op, carried_operands);
      if (axis < 0) first = c;
      axis = aligned;
      g = g < 0 ? c.group : unite(g, c.group);
    }
    // An operand without the channels must broadcast along them.
    for (int i = 0; i < 2; ++i) {
      if (carry(op.operand(i))) continue;
      const Dims& d = i == 0 ? a : b;
      const int at = axis - (rr - static_cast<int>(d.size()));
      if (at >= 0 && d[static_cast<size_t>(at)] != 1) return freezeOperands(op, carried_operands);
    }
    Dims out(static_cast<size_t>(rr), -1);
    for (int d = 0; d < rr - 2; ++d) {
      const int da = d - (rr - ra), db = d - (rr - rb);
      const int64_t x = da >= 0 ? a[static_cast<size_t>(da)] : 1, y = db >= 0 ? b[static_cast<size_t>(db)] : 1;
      out[static_cast<size_t>(d)] = x == 1 ? y : (y == 1 ? x : (x == y ? x : -1));
    }
    out[static_cast<size_t>(rr - 2)] = a[static_cast<size_t>(ra - 2)];
    out[static_cast<size_t>(rr - 1)] = b[static_cast<size_t>(rb - 1)];
    first.group = g;
    carryOn(op.result(), first, axis, out);
  }

  // Concat along the channel axis: its result's channels are its inputs' in order.
  void visitConcat(const Op& op, const std::vector<int>& carried_operands) {
    if (carried_operands.empty()) return;
    const int rank = rankOf(op.result());
    int64_t axis = op.getInt("axis", 0);
    if (axis < 0) axis += rank;
    bool ok = axis == 1 && op.numResults() == 1;
    std::vector<Part> parts;
    int64_t offset = 0;
    for (int i = 0; ok && i < op.numOperands(); ++i) {
      const Carry* c = carry(op.operand(i));
      const Dims d = dimsOf(op.operand(i));
      const int64_t n = d.size() > 1 ? d[1] : -1;
      ok = n > 0 && static_cast<int>(d.size()) == rank && (!c || (c->axis == 1 && c->plain()));
      if (ok) parts.push_back({c ? find(c->group) : -1, offset, n});
      offset += std::max<int64_t>(n, 0);
    }
    if (!ok) return freezeOperands(op, carried_operands);
    const int g = newGroup(offset);
    for (const Part& part : parts)
      if (part.group >= 0) group(part.group).feeds_concat = true;
    group(g).parts = std::move(parts);
    setCarry(op.result(), g, 1, 1);
  }

  // Elementwise ops keep the channel axis. Carried operands join one group; a constant operand
  // with the channel axis is sliced with it; anything else must broadcast along that axis.
  void visitElementwise(const Op& op, const std::vector<int>& carried_operands) {
    const int rank = rankOf(op.result());
    const Carry first = *carry(op.operand(carried_operands[0]));
    int g = first.group;
    for (int i : carried_operands) {
      const Carry c = *carry(op.operand(i));
      if (rankOf(op.operand(i)) != rank || c.axis != first.axis || c.block != first.block || c.repeat != first.repeat) {
        for (int j : carried_operands) freeze(carry(op.operand(j))->group, str("combined unevenly by ", nodeOf(op)));
        return;
      }
      g = unite(g, c.group);
    }
    const int64_t channels = group(g).channels * first.block * first.repeat;  // the axis's size
    Dims out(static_cast<size_t>(std::max(rank, 0)), 1);
    for (int i = 0; i < op.numOperands(); ++i) {  // the broadcast dims (-1 unknown)
      const Dims d = dimsOf(op.operand(i));
      for (size_t k = 0; k < d.size() && d.size() <= out.size(); ++k) {
        int64_t& o = out[out.size() - d.size() + k];
        if (d[k] != 1) o = (o == 1 || o == d[k]) && d[k] >= 0 ? d[k] : -1;
      }
    }
    for (int i = 0; i < op.numOperands(); ++i) {
      const Value* v = op.operand(i);
      if (!v || carry(v)) continue;
      const int aligned = first.axis - (rank - rankOf(v));
      const Dims vd = dimsOf(v);
      const int64_t dim = aligned >= 0 && aligned < static_cast<int>(vd.size()) ? vd[static_cast<size_t>(aligned)] : 1;
      if (rankOf(v) < 0) {
        freeze(g, str("an operand of ", nodeOf(op), " has no known rank"));
      } else if (dim == 1) {
        continue;
      } else if (dim == channels && f32Constant(v)) {
        group(g).slices.push_back({&op, i, aligned, first.block, false, first.repeat});
      } else {
        freeze(g, str("an operand of ", nodeOf(op), " does not broadcast along the channels"));
      }
    }
    setCarry(op.result(), g, first.axis, first.block, first.repeat);
    dims_[op.result()] = out;
  }

  std::vector<int64_t> chooseKept(const Group& g, size_t index) {
    std::vector<int64_t> all(static_cast<size_t>(g.channels));
    std::iota(all.begin(), all.end(), 0);
    if (!g.frozen.empty()) return all;
    int64_t keep = g.channels - static_cast<int64_t>(std::floor(options_.sparsity * static_cast<double>(g.channels)));
    keep = std::max(keep, std::min(options_.min_channels, g.channels));
    if (keep >= g.channels) return all;
    std::vector<double> score = options_.criterion == Criterion::Taylor ? options_.scores[index] : criterionScores(g, options_.criterion);
    score.resize(static_cast<size_t>(g.channels), 0.0);
    if (g.source >= 0) {  // a Split's output: its input's producers rank it too
      const int src = find(g.source);
      const std::vector<double> from = options_.criterion == Criterion::Taylor ? options_.scores[root_index_.at(src)]
                                                                                : criterionScores(groups_[static_cast<size_t>(src)], options_.criterion);
      for (int64_t c = 0; c < g.channels && g.source_offset + c < static_cast<int64_t>(from.size()); ++c)
        score[static_cast<size_t>(c)] += from[static_cast<size_t>(g.source_offset + c)];
    }
    std::stable_sort(all.begin(), all.end(), [&](int64_t a, int64_t b) { return score[static_cast<size_t>(a)] > score[static_cast<size_t>(b)]; });
    all.resize(static_cast<size_t>(keep));
    std::sort(all.begin(), all.end());
    return all;
  }

  // Conv/Gemm/MatMul FLOPs with the kept channels' ratios.
  void flops(ChannelResult& r) {
    std::unordered_map<const Op*, double> in_ratio, out_ratio;
    for (size_t i = 0; i < groups_.size(); ++i) {
      if (find(static_cast<int>(i)) != static_cast<int>(i)) continue;
      const Group& g = groups_[i];
      const double ratio = g.channels ? static_cast<double>(kept_[static_cast<int>(i)].size()) / static_cast<double>(g.channels) : 1.0;
      for (const Op* p : g.producers) out_ratio[p] = ratio;
      for (const Op* c : g.consumers) in_ratio[c] = ratio;
      for (const Op* d : g.depthwise) out_ratio[d] = ratio;
    }
    countFlops(g_, in_ratio, out_ratio, r);
  }

  const Graph& g_;
  const ChannelOptions& options_;
  std::vector<Group> groups_;
  std::unordered_map<const Value*, Carry> carried_;
  std::unordered_map<const Value*, Dims> dims_;  // dims known here beyond the types (after run-time reshapes)
  std::unordered_map<int, std::vector<int64_t>> kept_;
  std::unordered_map<int, size_t> root_index_;  // a root group's position in the result
  std::unordered_map<const Op*, int> slice_part_;  // a Slice along the channels -> its part's group
};

Status checkOptions(const ChannelOptions& o) {
  if (!(o.sparsity >= 0 && o.sparsity < 1)) return Status::error(str("channel sparsity ", o.sparsity, " is outside [0, 1)"));
  if (o.min_channels < 1) return Status::error(str("--min-channels ", o.min_channels, " must be at least 1"));
  return Status::success();
}

}  // namespace

Expected<ChannelResult> analyzeChannels(const Graph& g, const ChannelOptions& options) {
  DLC_RETURN_IF_ERROR(checkOptions(options));
  Analysis a(g, options);
  DLC_RETURN_IF_ERROR(a.run());
  return a.result(true);
}

Expected<ChannelResult> pruneChannels(Graph& g, const ChannelOptions& options) {
  DLC_RETURN_IF_ERROR(checkOptions(options));
  Analysis a(g, options);
  DLC_RETURN_IF_ERROR(a.run());
  DLC_ASSIGN_OR_RETURN(ChannelResult r, a.result(true));
  DLC_RETURN_IF_ERROR(a.apply(g));
  return r;
}

Expected<double> sparsityForFlops(const Graph& g, ChannelOptions options, double flops_ratio) {
  if (!(flops_ratio > 0 && flops_ratio <= 1)) return Status::error(str("--target-flops ", flops_ratio, " is outside (0, 1]"));
  double lo = 0, hi = 0.99;
  options.sparsity = hi;
  DLC_ASSIGN_OR_RETURN(ChannelResult most, analyzeChannels(g, options));
  if (most.flops_before <= 0) return Status::error("the model has no Conv, Gemm or MatMul FLOPs to prune");
  if (most.flops_after > flops_ratio * most.flops_before)
    return Status::error(str("--target-flops ", flops_ratio, " is out of reach: pruning every prunable group to --min-channels leaves ",
                             most.flops_after / most.flops_before, " of the FLOPs"));
  for (int it = 0; it < 30; ++it) {
    options.sparsity = (lo + hi) / 2;
    DLC_ASSIGN_OR_RETURN(ChannelResult r, analyzeChannels(g, options));
    (r.flops_after <= flops_ratio * r.flops_before ? hi : lo) = options.sparsity;
  }
  return hi;
}

}  // namespace dlc::prune
