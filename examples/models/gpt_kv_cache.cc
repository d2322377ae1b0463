// A GPT-style decoder (Radford et al. 2018/2019: token and learned position embeddings, pre-norm
// blocks of causal self-attention and a GELU MLP, a final LayerNorm) trained on next-token
// prediction over arithmetic sequences mod 16, then used for greedy generation with a KV cache:
// a prefill graph runs the prompt and returns every layer's keys and values, a decode-step graph
// takes one token plus the cache (its length a symbolic dim) and returns the next logits and the
// grown cache. The check: the cached generation gives the same tokens, and logits within 1e-4,
// as recomputing the whole sequence with the trained model at every step — on the reference target
// and on --target onednn.
#include <cmath>
#include <iostream>

#include "examples/models/example.h"
#include "frontend/builder/trainer.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kVocab = 16, kSteps = 8, kDim = 32, kHeads = 4, kHeadDim = kDim / kHeads, kLayers = 2, kPrompt = 3;
enum class Mode { Train, Prefill, Decode };

struct Block {
  LayerNorm ln1, ln2;
  Linear q, k, v, out, fc1, fc2;
  Block(Model& m, const std::string& n)
      : ln1(m, n + ".ln1", kDim), ln2(m, n + ".ln2", kDim), q(m, n + ".q", kDim, kDim), k(m, n + ".k", kDim, kDim),
        v(m, n + ".v", kDim, kDim), out(m, n + ".out", kDim, kDim), fc1(m, n + ".fc1", kDim, 4 * kDim),
        fc2(m, n + ".fc2", 4 * kDim, kDim) {}
};

Var heads(Var t) { return transpose(reshape(t, {0, 0, kHeads, kHeadDim}), {0, 2, 1, 3}); }  // [N, h, T, d]

// One block over x [N, T, D]; keys/values [N, h, S, d] come back through k_out/v_out. In Decode
// mode (T = 1) the cache is prepended and no mask is needed: the new token sees every position.
Var block(const Block& b, Var x, Mode mode, Var mask, Var past_k, Var past_v, Var* k_out, Var* v_out) {
  Var h = b.ln1(x);
  Var q = heads(b.q(h)), k = heads(b.k(h)), v = heads(b.v(h));
  if (mode == Mode::Decode) {
    k = concat({past_k, k}, 2);
    v = concat({past_v, v}, 2);
  }
  *k_out = k;
  *v_out = v;
  Var scores = mul(matmul(q, transpose(k, {0, 1, 3, 2})), 1.0 / std::sqrt(static_cast<double>(kHeadDim)));
  if (mask.valid()) scores = add(scores, mask);
  Var context = reshape(transpose(matmul(softmax(scores, -1), v), {0, 2, 1, 3}), {0, 0, kDim});
  x = add(x, b.out(context));
  return add(x, b.fc2(gelu(b.fc1(b.ln2(x)))));
}

// The three graphs share parameter names and creation order, so trained values fit each.
void build(Model& m, Mode mode) {
  const int64_t steps = mode == Mode::Train ? kSteps : mode == Mode::Prefill ? kPrompt : 1;
  Var tokens = m.input("tokens", DType::I64, {Dim::sym("N"), Dim::of(steps)});
  Var position = mode == Mode::Decode ? m.input("position", DType::I64, {Dim::of(1)}) : Var();
  std::vector<Var> past;
  if (mode == Mode::Decode)
    for (int64_t l = 0; l < kLayers; ++l)
      for (const char* kv : {"k", "v"})
        past.push_back(m.input(str("past_", kv, l), DType::F32, {Dim::sym("N"), Dim::of(kHeads), Dim::sym("P"), Dim::of(kHeadDim)}));
  Embedding embed(m, "embed", kVocab, kDim);
  Var positions = m.parameter("positions", {kSteps, kDim}, 0.1f);
  std::vector<Block> blocks;
  for (int64_t l = 0; l < kLayers; ++l) blocks.emplace_back(m, str("block", l));
  LayerNorm final_ln(m, "ln_f", kDim);
  Linear head(m, "head", kDim, kVocab);

  Var pos = mode == Mode::Decode ? gather(positions, position, 0) : slice(positions, {0}, {steps}, {0});
  Var x = add(embed(tokens), pos);
  Var mask = mode == Mode::Decode ? Var() : causalMask(m, steps);
  std::vector<Var> present;
  for (int64_t l = 0; l < kLayers; ++l) {
    Var k, v;
    x = block(blocks[static_cast<size_t>(l)], x, mode, mask, mode == Mode::Decode ? past[2 * l] : Var(),
              mode == Mode::Decode ? past[2 * l + 1] : Var(), &k, &v);
    present.push_back(k);
    present.push_back(v);
  }
  m.output(head(final_ln(x)), "logits");
  if (mode != Mode::Train)
    for (int64_t l = 0; l < kLayers; ++l) {
      m.output(present[2 * l], str("present_k", l));
      m.output(present[2 * l + 1], str("present_v", l));
    }
}

Expected<std::unique_ptr<Graph>> graphFor(Mode mode, const std::map<std::string, Tensor>& values) {
  Model m("gpt", 1);
  build(m, mode);
  DLC_ASSIGN_OR_RETURN(auto g, m.finish());
  DLC_RETURN_IF_ERROR(writeTrainedValues(*g, values));
  return g;
}

// Row `row` of logits [N, T, V] at position t, as doubles.
std::vector<double> logitsAt(const Tensor& logits, int64_t row, int64_t t) {
  const int64_t steps = logits.dim(1);
  std::vector<double> out;
  for (int64_t c = 0; c < kVocab; ++c) out.push_back(logits.getDouble((row * steps + t) * kVocab + c));
  return out;
}

int64_t argmax(const std::vector<double>& v) {
  int64_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[static_cast<size_t>(best)]) best = static_cast<int64_t>(i);
  return best;
}

// Greedy generation for the first `rows` prompts of `tokens` [N, kSteps], with the cache and by full
// recomputation, on `target`.
Status generate(const std::map<std::string, Tensor>& values, const Tensor& tokens, int64_t rows, const std::string& target) {
  DLC_ASSIGN_OR_RETURN(auto full, graphFor(Mode::Train, values));
  DLC_ASSIGN_OR_RETURN(auto prefill, graphFor(Mode::Prefill, values));
  DLC_ASSIGN_OR_RETURN(auto decode, graphFor(Mode::Decode, values));
  Tensor prompt(DType::I64, {rows, kPrompt}), sequence(DType::I64, {rows, kSteps});
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < kPrompt; ++t)
      prompt.data<int64_t>()[r * kPrompt + t] = sequence.data<int64_t>()[r * kSteps + t] = tokens.data<int64_t>()[r * kSteps + t];
  DLC_ASSIGN_OR_RETURN(auto pre, examples::runOnTarget(*prefill, target, {DataValue::ofTensor(prompt)}));
  std::vector<DataValue> cache(pre.begin() + 1, pre.end());
  Tensor last = pre[0].tensor;  // logits [rows, kPrompt, V]
  int64_t last_t = kPrompt - 1;
  double worst = 0;
  int64_t same = 0, generated = 0;
  for (int64_t t = kPrompt; t < kSteps; ++t) {
    // By full recomputation: the sequence so far (later positions are padding the causal mask hides).
    DLC_ASSIGN_OR_RETURN(auto ref, examples::runOnTarget(*full, target, {DataValue::ofTensor(sequence)}));
    Tensor next(DType::I64, {rows, 1});
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<double> cached = logitsAt(last, r, last_t), recomputed = logitsAt(ref[0].tensor, r, t - 1);
      double peak = 0;
      for (int64_t c = 0; c < kVocab; ++c) {
        worst = std::max(worst, std::fabs(cached[static_cast<size_t>(c)] - recomputed[static_cast<size_t>(c)]));
        peak = std::max(peak, std::fabs(recomputed[static_cast<size_t>(c)]));
      }
      if (worst > 1e-4 * std::max(1.0, peak))
        return Status::error(str("--target ", target, ": cached logits differ from recomputed ones by ", worst, " at step ", t));
      const int64_t token = argmax(cached);
      same += token == argmax(recomputed);
      ++generated;
      next.data<int64_t>()[r] = token;
      sequence.data<int64_t>()[r * kSteps + t] = token;
    }
    std::vector<DataValue> inputs{DataValue::ofTensor(next), DataValue::ofTensor(Tensor::fromVector(DType::I64, {1}, std::vector<int64_t>{t}))};
    inputs.insert(inputs.end(), cache.begin(), cache.end());
    DLC_ASSIGN_OR_RETURN(auto step, examples::runOnTarget(*decode, target, inputs));
    last = step[0].tensor;  // [rows, 1, V]
    last_t = 0;
    cache.assign(step.begin() + 1, step.end());
  }
  if (same != generated) return Status::error(str("--target ", target, ": the cached generation chose other tokens"));
  // How often the generation continues the progression (the task the model was trained on).
  int64_t right = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = kPrompt; t < kSteps; ++t) right += sequence.data<int64_t>()[r * kSteps + t] == tokens.data<int64_t>()[r * kSteps + t];
  std::cout << "generation with a KV cache (--target " << target << "): " << generated << " tokens equal to full recomputation's,"
            << " logits within " << worst << "; " << right << " of " << generated << " continue the progression\n";
  return Status::success();
}

}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "gpt_kv_cache";
  e.summary = "a GPT-style decoder trained on next tokens, generating with a KV cache";
  e.build = [](Model& m) { build(m, Mode::Train); };
  // Arithmetic progressions mod 16 with a random start and step 1-3; the target is the next token.
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor tokens(DType::I64, {samples, kSteps}), target(DType::I64, {samples, kSteps});
    std::uniform_int_distribution<int64_t> start(0, kVocab - 1), stride(1, 3);
    for (int64_t s = 0; s < samples; ++s) {
      const int64_t a = start(rng), d = stride(rng);
      for (int64_t t = 0; t < kSteps; ++t) {
        tokens.data<int64_t>()[s * kSteps + t] = (a + d * t) % kVocab;
        target.data<int64_t>()[s * kSteps + t] = (a + d * (t + 1)) % kVocab;
      }
    }
    return npz::Arrays{{"tokens", tokens}, {"target", target}};
  };
  e.config.loss = "cross-entropy";
  e.config.loss_options.class_axis = 2;
  e.config.optimizer.name = "adamw";
  e.config.optimizer.lr = 3e-3;
  e.samples = 512;
  e.epochs = 6;
  e.after = [](const Graph& trained, const std::vector<DataValue>& inputs) -> Status {
    const auto values = examples::namedConstants(trained);
    for (const std::string target : {"reference", "onednn"}) DLC_RETURN_IF_ERROR(generate(values, inputs[0].tensor, 8, target));
    return Status::success();
  };
  return examples::runExample(e, argc, argv);
}
