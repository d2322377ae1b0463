// bench/peak: measures this CPU's arithmetic roofs (fp32 FMA, int8 VNNI, bf16 dot) for 1 and N threads.
//
// Each kernel is a loop of independent multiply-accumulate chains held in registers (no memory
// traffic), compiled for its ISA with a target attribute and chosen at run time with
// __builtin_cpu_supports, so one binary runs on any x86-64 and reports what the CPU has.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

// Enough independent accumulators to hide FMA latency (4-5 cycles) on two FMA pipes.
constexpr int kChains = 12;

// Lane 0 of the sum of all accumulators (every lane holds the same value). Not
// _mm512_reduce_add_ps: GCC 12's version of it trips -Wuninitialized.
__attribute__((target("avx512f"))) float lane0(__m512 v) { return _mm512_cvtss_f32(v); }

// Every kernel runs `iters` iterations of kChains vector ops and returns a value depending on
// all accumulators, so the compiler cannot drop any of the work. The inner loops are unrolled
// so that the accumulators live in registers rather than in a stack array.

__attribute__((target("avx512f"))) float fmaAvx512(long iters) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long n = 0; n < iters; ++n)
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  return lane0(sum);
}

__attribute__((target("avx2,fma"))) float fmaAvx2(long iters) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long n = 0; n < iters; ++n)
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm256_add_ps(sum, acc[i]);
  return _mm256_cvtss_f32(sum);
}

// vpdpbusd: 64 u8*s8 products summed into 16 i32 lanes per instruction.
__attribute__((target("avx512f,avx512vnni"))) float vnniAvx512(long iters) {
  __m512i acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_epi32(i);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (long n = 0; n < iters; ++n)
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
  __m512i sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_epi32(sum, acc[i]);
  return static_cast<float>(_mm512_cvtsi512_si32(sum));
}

// vdpbf16ps: 32 bf16 products summed pairwise into 16 f32 lanes per instruction.
__attribute__((target("avx512f,avx512bf16"))) float bf16Avx512(long iters) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.25f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(2e-3f));
  for (long n = 0; n < iters; ++n)
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  return lane0(sum);
}

struct Roof {
  const char* kind;      // fp32, int8, bf16
  const char* isa;       // instruction set used
  const char* unit;      // gflops or gops
  double ops_per_inst;   // arithmetic ops (multiply and add each count one) per vector instruction
  float (*kernel)(long);
  bool available;
};

using Clock = std::chrono::steady_clock;

// Runs `kernel` on `threads` threads at once, `iters` iterations each; returns the wall seconds.
double timeThreads(float (*kernel)(long), long iters, int threads) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<float> sink(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      ready++;
      while (!go.load()) std::this_thread::yield();
      sink[static_cast<size_t>(t)] = kernel(iters);
    });
  while (ready.load() < threads) std::this_thread::yield();
  Clock::time_point start = Clock::now();
  go = true;
  for (auto& th : pool) th.join();
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  volatile float keep = sink[0];  // results must look used
  (void)keep;
  return s;
}

// Ops per second: iteration count calibrated to ~`seconds` of work, best of 5 trials (the
// least disturbed by other processes on a shared machine).
double measure(const Roof& r, int threads, double seconds) {
  long iters = 1 << 16;
  while (timeThreads(r.kernel, iters, 1) < seconds / 4 && iters < (1L << 40)) iters *= 2;
  iters = static_cast<long>(static_cast<double>(iters) * 4);  // ~`seconds` per trial
  double best = 1e30;
  for (int trial = 0; trial < 5; ++trial) best = std::min(best, timeThreads(r.kernel, iters, threads));
  return static_cast<double>(iters) * kChains * r.ops_per_inst * threads / best;
}

constexpr const char* kHelp =
    "usage: peak [--threads N] [--seconds S]\n"
    "\n"
    "Measures arithmetic roofs of this CPU with register-only multiply-accumulate loops:\n"
    "fp32 FMA (AVX-512 or AVX2), int8 vpdpbusd (AVX512-VNNI) and bf16 vdpbf16ps (AVX512-BF16)\n"
    "where the CPU has them, on 1 thread and on N threads (default: all hardware threads).\n"
    "A multiply and an add count as two ops. One line per measurement:\n"
    "  peak kind=fp32 isa=avx512f threads=1 gflops=123.4\n"
    "\n"
    "  --threads N   threads for the parallel measurement (default: hardware concurrency)\n"
    "  --seconds S   time per trial (default 0.2; best of 5 trials is reported)\n";

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  double seconds = 0.2;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "peak: error: option %s needs a value (see --help)\n", a.c_str());
        std::exit(1);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (a == "--threads") {
      threads = std::atoi(value());
      if (threads < 1 || threads > 1024) {
        std::fprintf(stderr, "peak: error: --threads must be between 1 and 1024 (%s)\n", argv[i]);
        return 1;
      }
    } else if (a == "--seconds") {
      seconds = std::atof(value());
      if (!(seconds > 0 && seconds <= 60)) {
        std::fprintf(stderr, "peak: error: --seconds must be in (0, 60] (%s)\n", argv[i]);
        return 1;
      }
    } else {
      std::fprintf(stderr, "peak: error: unknown option '%s' (see --help)\n", a.c_str());
      return 1;
    }
  }

  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  std::vector<Roof> roofs = {
      avx512 ? Roof{"fp32", "avx512f", "gflops", 2.0 * 16, fmaAvx512, true}
             : Roof{"fp32", "avx2-fma", "gflops", 2.0 * 8, fmaAvx2, avx2},
      {"int8", "avx512vnni", "gops", 2.0 * 64, vnniAvx512, avx512 && __builtin_cpu_supports("avx512vnni")},
      {"bf16", "avx512bf16", "gflops", 2.0 * 32, bf16Avx512, avx512 && __builtin_cpu_supports("avx512bf16")},
  };
  std::vector<int> counts = {1};
  if (threads > 1) counts.push_back(threads);
  for (const Roof& r : roofs) {
    if (!r.available) {
      std::printf("peak kind=%s isa=%s unavailable (this CPU lacks it)\n", r.kind, r.isa);
      continue;
    }
    for (int t : counts)
      std::printf("peak kind=%s isa=%s threads=%d %s=%.1f\n", r.kind, r.isa, t, r.unit, measure(r, t, seconds) / 1e9);
    std::fflush(stdout);
  }
  return 0;
}
