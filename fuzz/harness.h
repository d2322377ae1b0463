// Shared by the libFuzzer harnesses: what counts as a finding besides a sanitizer report.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace dlc::fuzz {

// A broken promise of the code under test (a round trip that differs, an error without a
// message): reported and turned into a crash, so that libFuzzer keeps the input.
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "dlc fuzz finding: %s\n", what.c_str());
  std::abort();
}

// Errors a user can cause are one-line messages that say something.
inline void checkMessage(const std::string& message, const char* where) {
  if (message.empty()) finding(std::string(where) + ": an error without a message");
  if (message.find('\n') != std::string::npos) finding(std::string(where) + ": a multi-line error: " + message);
}

}  // namespace dlc::fuzz
