// A one-line progress bar on stderr for long subcommands (dlc train, dlc quantize): redrawn at
// most ten times a second, and only when stderr is a terminal.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace dlc::cli {

class ProgressBar {
 public:
  explicit ProgressBar(bool on = isatty(STDERR_FILENO) != 0) : on_(on) {}
  // `prefix [#####.....] done/total  suffix`
  void update(const std::string& prefix, int64_t done, int64_t total, const std::string& suffix) {
    if (!on_ || (done != total && std::chrono::steady_clock::now() - last_ < std::chrono::milliseconds(100))) return;
    last_ = std::chrono::steady_clock::now();
    const int width = 30;
    int filled = total ? static_cast<int>(width * done / total) : width;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %lld/%lld  %s", prefix.c_str(), bar.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total), suffix.c_str());
    std::fflush(stderr);
  }
  void clear() {
    if (on_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool on_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now() - std::chrono::seconds(1);
};

}  // namespace dlc::cli
