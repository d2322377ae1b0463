// Graph networks over an edge list given as input tensors — a batch of graphs of 8 nodes and 16
// directed edges each, node features [N, V, F], sources and destinations [N, E] — with message
// passing as gather (GatherElements at the edges' source nodes) and scatter-add (ScatterElements
// with reduction add at their destinations):
//   GCN (Kipf & Welling 2017): h' = relu(W Σ_{u ∈ N(v) ∪ {v}} h_u / sqrt(d_u d_v)), d with self-loops;
//   GAT (Veličković et al. 2018): α_uv = softmax_u(leakyrelu(aᵀ[W h_u; W h_v])) over v's incoming
//       edges, h' = elu(Σ α_uv W h_u + W h_v);
//   GraphSAGE (Hamilton et al. 2017, mean): h' = relu(W₁ h_v + W₂ mean_{u ∈ N(v)} h_u).
// Node classification: each node's class is a fixed linear rule over its and its in-neighbours'
// features.
#include <cmath>

#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kNodes = 8, kEdges = 16, kFeatures = 4, kHidden = 16, kClasses = 3;

struct Edges {
  Var src, dst;          // [N, E, H]: per feature, for gathering and scattering node vectors
  Var src1, dst1;        // [N, E, 1]: for per-node scalars
};

Var gatherAt(Var h, Var idx) { return gatherElements(h, idx, 1); }                 // [N, V, C] -> [N, E, C]
Var scatterTo(Var like, Var idx, Var msg) { return scatterAdd(mul(like, 0.0), idx, msg, 1); }  // -> [N, V, C]

Var gcn(Model& m, const std::string& name, Var h, const Edges& e) {
  Var ones = add(mul(gatherAt(h, e.src), 0.0), 1.0);
  Var degree = add(scatterTo(h, e.dst, ones), 1.0);  // in-degree plus the self-loop
  Var norm = div(scalarLike(degree, 1.0), sqrt(degree));
  Var scaled = mul(h, norm);
  Var agg = add(scatterTo(h, e.dst, gatherAt(scaled, e.src)), scaled);
  return relu(Linear(m, name, kHidden, kHidden)(mul(agg, norm)));
}

Var gat(Model& m, const std::string& name, Var h, const Edges& e) {
  Var wh = Linear(m, name + ".W", kHidden, kHidden, false)(h);
  Var a_src = m.parameter(name + ".a_src", {kHidden, 1}, 0.25f), a_dst = m.parameter(name + ".a_dst", {kHidden, 1}, 0.25f);
  Var s_src = matmul(wh, a_src), s_dst = matmul(wh, a_dst);  // [N, V, 1]
  Var score = clip(leakyRelu(add(gatherAt(s_src, e.src1), gatherAt(s_dst, e.dst1)), 0.2), -20.0, 20.0);
  Var w = exp(score);                                         // [N, E, 1]
  Var denom = gatherAt(add(scatterTo(s_src, e.dst1, w), 1e-9), e.dst1);
  Var msg = mul(div(w, denom), gatherAt(wh, e.src));          // α_uv W h_u
  return elu(add(scatterTo(wh, e.dst, msg), wh));
}

Var sage(Model& m, const std::string& name, Var h, const Edges& e) {
  Var ones = add(mul(gatherAt(h, e.src), 0.0), 1.0);
  Var count = maximum(scatterTo(h, e.dst, ones), scalarLike(h, 1.0));
  Var mean = div(scatterTo(h, e.dst, gatherAt(h, e.src)), count);
  return relu(add(Linear(m, name + ".self", kHidden, kHidden)(h), Linear(m, name + ".neigh", kHidden, kHidden, false)(mean)));
}

}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "gnn";
  e.summary = "GCN, GAT and GraphSAGE layers by gather/scatter-add over an edge list";
  e.build = [](Model& m) {
    Var x = m.input("features", DType::F32, {Dim::sym("N"), Dim::of(kNodes), Dim::of(kFeatures)});
    Var src = m.input("edge_src", DType::I64, {Dim::sym("N"), Dim::of(kEdges)});
    Var dst = m.input("edge_dst", DType::I64, {Dim::sym("N"), Dim::of(kEdges)});
    Edges edges;
    edges.src1 = unsqueeze(src, {2});
    edges.dst1 = unsqueeze(dst, {2});
    edges.src = expand(edges.src1, {1, 1, kHidden});
    edges.dst = expand(edges.dst1, {1, 1, kHidden});
    Var h = Linear(m, "embed", kFeatures, kHidden)(x);
    h = gcn(m, "gcn", h, edges);
    h = gat(m, "gat", h, edges);
    h = sage(m, "sage", h, edges);
    m.output(Linear(m, "head", kHidden, kClasses)(h), "logits");  // [N, V, classes]
  };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor x = examples::normal(rng, {samples, kNodes, kFeatures});
    Tensor src(DType::I64, {samples, kEdges}), dst(DType::I64, {samples, kEdges});
    Tensor rule = examples::normal(rng, {kFeatures, kClasses});
    Tensor target(DType::I64, {samples, kNodes});
    std::uniform_int_distribution<int64_t> node(0, kNodes - 1);
    for (int64_t s = 0; s < samples; ++s) {
      std::vector<double> agg(kNodes * kFeatures, 0.0);
      for (int64_t v = 0; v < kNodes; ++v)
        for (int64_t f = 0; f < kFeatures; ++f) agg[v * kFeatures + f] = x.data<float>()[(s * kNodes + v) * kFeatures + f];
      for (int64_t k = 0; k < kEdges; ++k) {
        int64_t a = node(rng), b = node(rng);
        while (b == a) b = node(rng);
        src.data<int64_t>()[s * kEdges + k] = a;
        dst.data<int64_t>()[s * kEdges + k] = b;
        for (int64_t f = 0; f < kFeatures; ++f) agg[b * kFeatures + f] += x.data<float>()[(s * kNodes + a) * kFeatures + f];
      }
      for (int64_t v = 0; v < kNodes; ++v) {
        double best = -1e300;
        for (int64_t c = 0; c < kClasses; ++c) {
          double score = 0;
          for (int64_t f = 0; f < kFeatures; ++f) score += agg[v * kFeatures + f] * rule.data<float>()[f * kClasses + c];
          if (score > best) best = score, target.data<int64_t>()[s * kNodes + v] = c;
        }
      }
    }
    return npz::Arrays{{"features", x}, {"edge_src", src}, {"edge_dst", dst}, {"target", target}};
  };
  e.config.loss = "cross-entropy";
  e.config.loss_options.class_axis = 2;
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 5e-3;
  e.epochs = 5;
  return examples::runExample(e, argc, argv);
}
