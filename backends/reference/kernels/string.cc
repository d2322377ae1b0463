// Reference kernels: StringNormalizer and TfIdfVectorizer.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/math_family.h"

namespace dlc::ref {
namespace {

std::string lowered(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string uppered(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Drops stopwords, then changes case. An input row emptied entirely becomes one empty string.
Status kStringNormalizer(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::String) return ctx.error("input must be a string tensor");
  if (!(x.rank() == 1 || (x.rank() == 2 && x.dim(0) == 1))) return ctx.error("input must be [C] or [1, C]");
  const std::string action = ctx.op().getString("case_change_action", "NONE");
  if (action != "NONE" && action != "LOWER" && action != "UPPER") return ctx.error("bad case_change_action");
  const bool sensitive = ctx.op().getInt("is_case_sensitive", 0) != 0;
  std::set<std::string> stop;
  for (const auto& w : ctx.op().getStrings("stopwords")) stop.insert(sensitive ? w : lowered(w));
  std::vector<std::string> kept;
  for (const auto& s : x.strings()) {
    if (stop.count(sensitive ? s : lowered(s))) continue;
    kept.push_back(action == "LOWER" ? lowered(s) : action == "UPPER" ? uppered(s) : s);
  }
  if (kept.empty()) kept.push_back("");
  std::vector<int64_t> shape{static_cast<int64_t>(kept.size())};
  if (x.rank() == 2) shape.insert(shape.begin(), 1);
  Tensor y(DType::String, shape);
  y.strings() = kept;
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

// TfIdfVectorizer: counts the pool's n-grams (n in [min, max], items up to max_skip_count apart)
// in each row and maps them to output columns through ngram_indexes.
Status kTfIdfVectorizer(KernelContext& ctx) {
  const Op& op = ctx.op();
  const Tensor& x = ctx.input(0);
  const int64_t min_n = op.getInt("min_gram_length"), max_n = op.getInt("max_gram_length");
  const int64_t max_skip = op.getInt("max_skip_count");
  const std::string mode = op.getString("mode");
  const auto counts = op.getInts("ngram_counts"), indexes = op.getInts("ngram_indexes");
  const auto weights = op.getFloats("weights");
  if (mode != "TF" && mode != "IDF" && mode != "TFIDF") return ctx.error("mode must be TF, IDF or TFIDF");
  if (min_n < 1 || max_n < min_n || max_skip < 0) return ctx.error("bad n-gram lengths or skip count");
  // The pool as strings, whichever kind it holds.
  std::vector<std::string> pool;
  const bool strings = x.dtype() == DType::String;
  if (strings) {
    pool = op.getStrings("pool_strings");
  } else {
    if (x.dtype() != DType::I32 && x.dtype() != DType::I64) return ctx.error("input must be string, i32 or i64");
    for (int64_t v : op.getInts("pool_int64s")) pool.push_back(std::to_string(v));
  }
  std::map<std::vector<std::string>, int64_t> column;
  int64_t gram_index = 0;
  for (size_t g = 0; g < counts.size(); ++g) {
    const int64_t n = static_cast<int64_t>(g) + 1;
    const int64_t begin = counts[g];
    const int64_t end = g + 1 < counts.size() ? counts[g + 1] : static_cast<int64_t>(pool.size());
    for (int64_t p = begin; p + n <= end; p += n, ++gram_index) {
      if (gram_index >= static_cast<int64_t>(indexes.size())) return ctx.error("ngram_indexes is too short");
      column[std::vector<std::string>(pool.begin() + p, pool.begin() + p + n)] = indexes[static_cast<size_t>(gram_index)];
    }
  }
  int64_t width = 0;
  for (int64_t i : indexes) width = std::max(width, i + 1);
  if (x.rank() != 1 && x.rank() != 2) return ctx.error("input must be [N] or [B, N]");
  const int64_t rows = x.rank() == 2 ? x.dim(0) : 1, len = x.dim(x.rank() - 1);
  auto item = [&](int64_t i) { return strings ? x.strings()[static_cast<size_t>(i)] : std::to_string(x.getInt(i)); };
  std::vector<double> tf(static_cast<size_t>(rows * width), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = min_n; n <= max_n; ++n)
      for (int64_t skip = 0; skip <= (n == 1 ? 0 : max_skip); ++skip)  // unigrams have no gaps to skip
        for (int64_t s = 0; s + (n - 1) * (skip + 1) < len; ++s) {
          std::vector<std::string> key;
          for (int64_t k = 0; k < n; ++k) key.push_back(item(r * len + s + k * (skip + 1)));
          auto it = column.find(key);
          if (it != column.end()) tf[static_cast<size_t>(r * width + it->second)] += 1.0;
        }
  std::vector<int64_t> shape = x.rank() == 2 ? std::vector<int64_t>{rows, width} : std::vector<int64_t>{width};
  Tensor y(DType::F32, shape);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < width; ++c) {
      double v = tf[static_cast<size_t>(r * width + c)];
      double w = static_cast<size_t>(c) < weights.size() ? weights[static_cast<size_t>(c)] : 1.0;
      if (mode == "IDF") v = v > 0 ? w : 0.0;
      else if (mode == "TFIDF") v *= w;
      y.setDouble(r * width + c, v);
    }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

}  // namespace

void registerStringKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::StringNormalizer)] = &kStringNormalizer;
  table[static_cast<size_t>(OpKind::TfIdfVectorizer)] = &kTfIdfVectorizer;
}

}  // namespace dlc::ref
