// The runtime under load: sessions of several .dlc models run concurrently, one per thread, each
// many times, every output compared byte for byte with a single-threaded run of the same inputs,
// and the process's resident memory measured once every session is warm and again at the end.
//
// usage: load_test --model A.dlc --model B.dlc ... [--threads 8] [--runs 10000]
//                  [--session-threads 1] [--dim NAME=v1,v2,...]...
// Thread t runs model t % M. Symbolic dims take the --dim values in turn, run after run (a
// symbolic-shape model changes shape as it goes; dims without a --dim are 1). Inputs are
// deterministic pseudo-random data. Prints one line per model and a summary line; exits 1 on any
// mismatch, error, or memory growth over 1 MiB after warm-up (not checked under ThreadSanitizer,
// whose own shadow memory grows). --session-threads gives each session its own thread pool too.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dlc/runtime.h"
#include "dlc_kernels_cpu.h"
#include "dlc_kernels_reference.h"

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "load_test: error: %s\n", what.c_str());
  std::exit(1);
}

void check(dlc_status s, const std::string& what) {
  if (!s) return;
  std::string message = dlc_status_message(s);
  dlc_status_free(s);
  die(what + ": " + message);
}

size_t elementBytes(int32_t dtype) {
  switch (dtype) {
    case DLC_DTYPE_U8: case DLC_DTYPE_I8: case DLC_DTYPE_BOOL: return 1;
    case DLC_DTYPE_U16: case DLC_DTYPE_I16: case DLC_DTYPE_F16: case DLC_DTYPE_BF16: return 2;
    case DLC_DTYPE_F32: case DLC_DTYPE_I32: case DLC_DTYPE_U32: return 4;
    case DLC_DTYPE_F64: case DLC_DTYPE_I64: case DLC_DTYPE_U64: return 8;
    default: die(std::string("input dtype ") + dlc_dtype_name(dtype) + " is not supported here");
  }
}

size_t residentBytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f || std::fscanf(f, "%ld %ld", &pages, &resident) != 2) die("cannot read /proc/self/statm");
  std::fclose(f);
  return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// One input set of a model for shape variant `variant`: shapes, and data from a fixed generator.
struct Inputs {
  std::vector<std::vector<int64_t>> shapes;
  std::vector<std::vector<uint8_t>> data;
  std::vector<int32_t> dtypes;
};

struct Model {
  std::string path;
  dlc_model* model = nullptr;
  std::vector<Inputs> variants;                    // one per shape variant
  std::vector<std::vector<std::string>> expected;  // [variant][output]: the single-threaded bytes
};

Inputs makeInputs(const dlc_model* m, const std::map<std::string, std::vector<int64_t>>& dims, size_t variant) {
  Inputs in;
  uint64_t state = 0x9E3779B97F4A7C15ULL * (variant + 1);
  for (size_t i = 0; i < dlc_model_input_count(m); ++i) {
    dlc_tensor_info info;
    check(dlc_model_input_info(m, i, &info), "input info");
    std::vector<int64_t> shape;
    size_t count = 1;
    for (int32_t d = 0; d < info.rank; ++d) {
      int64_t v = info.dims[d];
      if (v < 0) {
        auto it = dims.find(info.dim_names[d]);
        v = it == dims.end() ? 1 : it->second[variant % it->second.size()];
      }
      shape.push_back(v);
      count *= static_cast<size_t>(v);
    }
    std::vector<uint8_t> bytes(count * elementBytes(info.dtype));
    for (size_t e = 0; e < count; ++e) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      double u = static_cast<double>(state >> 11) / 9007199254740992.0;  // [0, 1)
      if (info.dtype == DLC_DTYPE_F32) {
        float f = static_cast<float>(2 * u - 1);
        std::memcpy(&bytes[e * 4], &f, 4);
      } else if (info.dtype == DLC_DTYPE_I64) {
        int64_t k = static_cast<int64_t>(u * 10);  // token ids, class indices: small
        std::memcpy(&bytes[e * 8], &k, 8);
      } else {
        bytes[e * elementBytes(info.dtype)] = static_cast<uint8_t>(u * 2);
      }
    }
    in.shapes.push_back(shape);
    in.data.push_back(std::move(bytes));
    in.dtypes.push_back(info.dtype);
  }
  return in;
}

// Binds variant `v`'s inputs, runs, and returns the outputs' bytes.
std::vector<std::string> runOnce(dlc_session* s, const dlc_model* m, const Inputs& in) {
  for (size_t i = 0; i < in.shapes.size(); ++i) {
    dlc_tensor t{in.dtypes[i], static_cast<int32_t>(in.shapes[i].size()), in.shapes[i].data(),
                 const_cast<uint8_t*>(in.data[i].data()), in.data[i].size()};
    check(dlc_session_input_bind(s, i, &t), "binding an input");
  }
  check(dlc_session_run(s), "running");
  std::vector<std::string> out;
  for (size_t o = 0; o < dlc_model_output_count(m); ++o) {
    dlc_tensor t;
    check(dlc_session_output_get(s, o, &t), "reading an output");
    out.emplace_back(static_cast<const char*>(t.data), t.bytes);
  }
  return out;
}

// GCC says __SANITIZE_THREAD__, clang __has_feature(thread_sanitizer).
#if defined(__SANITIZE_THREAD__)
#define DLC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DLC_TSAN 1
#endif
#endif
#ifdef DLC_TSAN
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif

int session_threads = 1;

dlc_session* newSession(const dlc_model* m) {
  dlc_session_options options;
  dlc_session_options_init(&options);
  options.threads = session_threads;  // 1: the concurrency is the sessions' own
  dlc_session* s = nullptr;
  check(dlc_session_create(m, &options, &s), "creating a session");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  std::map<std::string, std::vector<int64_t>> dims;
  int threads = 8;
  long runs = 10000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--model") paths.push_back(value());
    else if (a == "--threads") threads = std::atoi(value().c_str());
    else if (a == "--runs") runs = std::atol(value().c_str());
    else if (a == "--session-threads") session_threads = std::atoi(value().c_str());
    else if (a == "--dim") {
      std::string spec = value();
      size_t eq = spec.find('=');
      if (eq == std::string::npos) die("--dim takes NAME=v1,v2,...");
      std::vector<int64_t> values;
      for (size_t p = eq + 1; p <= spec.size();) {
        size_t comma = spec.find(',', p);
        values.push_back(std::atoll(spec.substr(p, comma - p).c_str()));
        if (values.back() <= 0) die("--dim values must be positive: " + spec);
        if (comma == std::string::npos) break;
        p = comma + 1;
      }
      dims[spec.substr(0, eq)] = values;
    } else if (a == "--help" || a == "-h") {
      std::printf("usage: load_test --model A.dlc [--model B.dlc]... [--threads 8] [--runs 10000] [--session-threads 1]\n"
                  "                 [--dim NAME=v1,v2,...]...\n");
      return 0;
    } else {
      die("unknown option '" + a + "'");
    }
  }
  if (paths.empty() || threads < 1 || runs < 1 || session_threads < 1)
    die("give --model at least once, --threads >= 1, --runs >= 1, --session-threads >= 1");
  check(dlc_kernels_reference_register(), "registering the reference kernels");
  check(dlc_kernels_cpu_register(), "registering the cpu kernels");

  size_t variants = 1;
  for (const auto& [name, values] : dims) variants = std::max(variants, values.size());
  std::vector<Model> models(paths.size());
  for (size_t k = 0; k < paths.size(); ++k) {
    Model& m = models[k];
    m.path = paths[k];
    check(dlc_model_load_file(m.path.c_str(), nullptr, &m.model), "loading " + m.path);
    dlc_session* s = newSession(m.model);
    for (size_t v = 0; v < variants; ++v) {
      m.variants.push_back(makeInputs(m.model, dims, v));
      m.expected.push_back(runOnce(s, m.model, m.variants.back()));
    }
    dlc_session_free(s);
  }

  // Warm-up: every thread's session runs every variant once; then memory is measured.
  std::vector<dlc_session*> sessions(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) sessions[static_cast<size_t>(t)] = newSession(models[static_cast<size_t>(t) % models.size()].model);
  std::atomic<long> mismatches{0}, done{0};
  std::mutex report;
  auto work = [&](int t, long from, long to) {
    Model& m = models[static_cast<size_t>(t) % models.size()];
    dlc_session* s = sessions[static_cast<size_t>(t)];
    for (long r = from; r < to; ++r) {
      size_t v = static_cast<size_t>(r + t) % variants;
      if (runOnce(s, m.model, m.variants[v]) != m.expected[v]) {
        if (mismatches++ == 0) {
          std::lock_guard<std::mutex> lock(report);
          std::fprintf(stderr, "load_test: thread %d run %ld of %s differs from the single-threaded run\n", t, r, m.path.c_str());
        }
      }
      ++done;
    }
  };
  auto runAll = [&](long from, long to) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work, t, from, to);
    for (auto& th : pool) th.join();
  };
  const long warm = std::min<long>(runs, static_cast<long>(variants) * 4);
  runAll(0, warm);
  const size_t rss_warm = residentBytes();
  runAll(warm, runs);
  const size_t rss_end = residentBytes();
  for (dlc_session* s : sessions) dlc_session_free(s);
  for (Model& m : models) {
    std::printf("model %s: %zu shape variant(s), outputs checked against a single-threaded run\n", m.path.c_str(), m.variants.size());
    dlc_model_free(m.model);
  }
  const long growth = static_cast<long>(rss_end) - static_cast<long>(rss_warm);
  std::printf("load_test: %d sessions on %d threads x %ld runs = %ld runs, %ld mismatches; resident memory %.1f MiB after warm-up, "
              "%.1f MiB at the end (%+.2f MiB)\n",
              threads, threads, runs, done.load(), mismatches.load(), rss_warm / 1048576.0, rss_end / 1048576.0, growth / 1048576.0);
  if (mismatches.load() != 0) return 1;
  if (kThreadSanitizer) {
    std::printf("load_test: built with ThreadSanitizer: memory growth not checked\n");
  } else if (growth > (1 << 20)) {
    std::fprintf(stderr, "load_test: resident memory grew by %.2f MiB after warm-up\n", growth / 1048576.0);
    return 1;
  }
  return 0;
}
