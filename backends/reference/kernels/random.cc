// Reference kernels: RandomNormal/Uniform(+Like), Bernoulli, Multinomial, DropoutMask; deterministic per seed.
#include <cmath>
#include <random>

#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/math_family.h"
#include "ir/dtype_onnx.h"

namespace dlc::ref {
namespace {

// Without a seed the reference still uses a fixed one so that runs are reproducible.
std::mt19937_64 makeEngine(const Op& op) {
  uint64_t seed = 0x5eed5eedULL;
  if (op.hasAttr("seed")) seed = static_cast<uint64_t>(static_cast<int64_t>(op.getFloat("seed") * 1000.0));
  return std::mt19937_64(seed);
}

Expected<DType> outDType(KernelContext& ctx, DType fallback) {
  if (!ctx.op().hasAttr("dtype")) return fallback;
  auto d = dtypeFromOnnxCode(ctx.op().getInt("dtype"));
  if (!d) return ctx.error(str("unsupported dtype code ", ctx.op().getInt("dtype")));
  return *d;
}

template <typename Dist>
Status fillRandom(KernelContext& ctx, DType dt, const std::vector<int64_t>& shape, Dist dist) {
  if (!isFloat(dt)) return ctx.error(str("dtype ", dtypeName(dt), " is not supported (floating point only)"));
  auto eng = makeEngine(ctx.op());
  Tensor y(dt, shape);
  for (int64_t i = 0; i < y.numel(); ++i) y.setDouble(i, dist(eng));
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

Status kRandomNormal(KernelContext& ctx) {
  DLC_ASSIGN_OR_RETURN(DType dt, outDType(ctx, DType::F32));
  std::normal_distribution<double> d(ctx.op().getFloat("mean", 0.0f), ctx.op().getFloat("scale", 1.0f));
  return fillRandom(ctx, dt, ctx.op().getInts("shape"), d);
}
Status kRandomNormalLike(KernelContext& ctx) {
  DLC_ASSIGN_OR_RETURN(DType dt, outDType(ctx, ctx.input(0).dtype()));
  std::normal_distribution<double> d(ctx.op().getFloat("mean", 0.0f), ctx.op().getFloat("scale", 1.0f));
  return fillRandom(ctx, dt, ctx.input(0).shape(), d);
}
Status kRandomUniform(KernelContext& ctx) {
  DLC_ASSIGN_OR_RETURN(DType dt, outDType(ctx, DType::F32));
  std::uniform_real_distribution<double> d(ctx.op().getFloat("low", 0.0f), ctx.op().getFloat("high", 1.0f));
  return fillRandom(ctx, dt, ctx.op().getInts("shape"), d);
}
Status kRandomUniformLike(KernelContext& ctx) {
  DLC_ASSIGN_OR_RETURN(DType dt, outDType(ctx, ctx.input(0).dtype()));
  std::uniform_real_distribution<double> d(ctx.op().getFloat("low", 0.0f), ctx.op().getFloat("high", 1.0f));
  return fillRandom(ctx, dt, ctx.input(0).shape(), d);
}

// Bernoulli: 1 with probability p (the input element), else 0.
Status kBernoulli(KernelContext& ctx) {
  const Tensor& p = ctx.input(0);
  if (!isFloat(p.dtype())) return ctx.error("probabilities must be floating point");
  DLC_ASSIGN_OR_RETURN(DType dt, outDType(ctx, p.dtype()));
  if (dt == DType::String) return ctx.error("unsupported output dtype");
  auto eng = makeEngine(ctx.op());
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Tensor y(dt, p.shape());
  for (int64_t i = 0; i < p.numel(); ++i) y.setDouble(i, u(eng) < p.getDouble(i) ? 1.0 : 0.0);
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

// Multinomial: input [batch, classes] of unnormalized log-probabilities -> [batch, sample_size] indices.
Status kMultinomial(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() != 2 || !isFloat(x.dtype())) return ctx.error("input must be a 2-D float tensor");
  DType dt = DType::I32;
  if (auto d = dtypeFromOnnxCode(ctx.op().getInt("dtype", 6))) dt = *d;
  if (dt != DType::I32 && dt != DType::I64) return ctx.error("dtype must be int32 or int64");
  const int64_t batch = x.dim(0), classes = x.dim(1), samples = ctx.op().getInt("sample_size", 1);
  if (samples < 0) return ctx.error("sample_size must be >= 0");
  auto eng = makeEngine(ctx.op());
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Tensor y(dt, {batch, samples});
  std::vector<double> cdf(static_cast<size_t>(classes));
  for (int64_t b = 0; b < batch; ++b) {
    double mx = -INFINITY, total = 0.0;
    for (int64_t c = 0; c < classes; ++c) mx = std::max(mx, x.getDouble(b * classes + c));
    for (int64_t c = 0; c < classes; ++c) {
      total += std::exp(x.getDouble(b * classes + c) - mx);
      cdf[static_cast<size_t>(c)] = total;
    }
    for (int64_t s = 0; s < samples; ++s) {
      double r = u(eng) * total;
      int64_t c = 0;
      while (c + 1 < classes && cdf[static_cast<size_t>(c)] <= r) ++c;
      y.setInt(b * samples + s, c);
    }
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

// DropoutMask(X, ratio, seed): element i is kept when u(seed, i) >= ratio, with u the top 24 bits of
// splitmix64(seed ^ i·0xD1B54A32D192ED03) scaled to [0, 1) (exact in f32, so every backend that
// computes the same integer hash draws the same mask, whatever its thread split).
Status kDropoutMask(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  double ratio = ctx.input(1).getDouble(0);
  if (ctx.input(1).numel() != 1 || ctx.input(2).numel() != 1) return ctx.error("ratio and seed must be scalars");
  if (!(ratio >= 0 && ratio <= 1)) return ctx.error(str("ratio ", ratio, " must be in [0, 1]"));
  const uint64_t seed = static_cast<uint64_t>(ctx.input(2).getInt(0));
  const float r = static_cast<float>(ratio);
  Tensor mask(DType::Bool, X.shape());
  bool* m = mask.data<bool>();
  for (int64_t i = 0; i < X.numel(); ++i) {
    uint64_t z = (seed ^ (static_cast<uint64_t>(i) * 0xD1B54A32D192ED03ULL)) + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    m[i] = static_cast<float>(z >> 40) * (1.0f / 16777216.0f) >= r;
  }
  ctx.setOutput(0, mask);
  return Status::success();
}

}  // namespace

void registerRandomKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::RandomNormal)] = &kRandomNormal;
  table[static_cast<size_t>(OpKind::RandomNormalLike)] = &kRandomNormalLike;
  table[static_cast<size_t>(OpKind::RandomUniform)] = &kRandomUniform;
  table[static_cast<size_t>(OpKind::RandomUniformLike)] = &kRandomUniformLike;
  table[static_cast<size_t>(OpKind::Bernoulli)] = &kBernoulli;
  table[static_cast<size_t>(OpKind::Multinomial)] = &kMultinomial;
  table[static_cast<size_t>(OpKind::DropoutMask)] = &kDropoutMask;
}

}  // namespace dlc::ref
