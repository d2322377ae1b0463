// dlc_conformance: runs ONNX's backend-test cases on the reference backend, one forked child each,
// and checks the failing set against the committed expected-failures list.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "tests/conformance/case_runner.h"

namespace {
namespace fs = std::filesystem;
using dlc::conformance::Tolerance;

// Exit status ctest reads as "skipped" (SKIP_RETURN_CODE) when the test data is not installed.
constexpr int kSkipExitCode = 77;
// The test-data folders that hold runnable cases; `real/` needs downloaded models and is left out.
const char* const kFolders[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};

const char* const kUsage =
    "usage: dlc_conformance --data DIR --expected FILE [--filter SUBSTR] [--jobs N]\n"
    "                       [--list-failures] [--write-expected FILE] [--timeout SEC]\n"
    "                       [--mem-limit-mb MB] [--export-opset N] [--verbose]\n"
    "\n"
    "Runs every case DIR/{node,pytorch-converted,pytorch-operator,simple}/<case>/ of ONNX's\n"
    "backend tests on the reference backend, each in its own process, and compares the outputs\n"
    "(rtol 1e-3, atol 1e-7 for floats, exact otherwise). Prints one line per failing case, then\n"
    "`N passed, M failed`. Exits 0 only when the failing cases are exactly those listed in the\n"
    "--expected file (`<folder>/<case>  # reason` per line).\n"
    "\n"
    "  --filter SUBSTR        only cases whose name `<folder>/<case>` contains SUBSTR\n"
    "  --jobs N               cases run in parallel (default 2)\n"
    "  --list-failures        print the failures in the expected-file format instead\n"
    "  --write-expected FILE  write the current failure set to FILE and exit 0 (entries of an\n"
    "                         existing FILE outside --filter are kept)\n"
    "  --timeout SEC          per-case time limit (default 60)\n"
    "  --mem-limit-mb MB      per-case address-space limit (default 4096, 0 = none)\n"
    "  --export-opset N       run each model after exporting it to ONNX at opset N (13..17) and\n"
    "                         importing it again\n"
    "  --verbose              print each case's result to stderr as it finishes\n";

struct Options {
  std::string data, expected, filter, write_expected;
  int jobs = 2;
  int timeout_s = 60;
  long mem_limit_mb = 4096;
  bool list_failures = false;
  int export_opset = 0;
  bool verbose = false;
};

enum class Outcome { Pass, Fail, Crash, Timeout };

const char* outcomeWord(Outcome o) {
  switch (o) {
    case Outcome::Pass: return "PASS";
    case Outcome::Fail: return "FAIL";
    case Outcome::Crash: return "CRASH";
    case Outcome::Timeout: return "TIMEOUT";
  }
  return "?";
}

struct Result {
  std::string name;
  Outcome outcome = Outcome::Crash;
  std::string reason;
};

[[noreturn]] void usageError(const std::string& what) {
  std::cerr << "dlc_conformance: error: " << what << "\n" << kUsage;
  std::exit(2);
}

Options parseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usageError(a + " needs a value");
      return argv[++i];
    };
    auto number = [&]() -> long {
      std::string v = value();
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 0) usageError("bad number for " + a + ": " + v);
      return n;
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (a == "--data") {
      o.data = value();
    } else if (a == "--expected") {
      o.expected = value();
    } else if (a == "--filter") {
      o.filter = value();
    } else if (a == "--write-expected") {
      o.write_expected = value();
    } else if (a == "--jobs") {
      o.jobs = std::max(1L, number());
    } else if (a == "--timeout") {
      o.timeout_s = static_cast<int>(std::max(1L, number()));
    } else if (a == "--mem-limit-mb") {
      o.mem_limit_mb = number();
    } else if (a == "--list-failures") {
      o.list_failures = true;
    } else if (a == "--export-opset") {
      o.export_opset = static_cast<int>(number());
      if (o.export_opset < 13 || o.export_opset > 17) usageError("--export-opset must be 13 to 17");
    } else if (a == "--verbose") {
      o.verbose = true;
    } else {
      usageError("unknown argument " + a);
    }
  }
  if (o.data.empty()) usageError("--data is required");
  while (o.data.size() > 1 && o.data.back() == '/') o.data.pop_back();
  if (o.expected.empty() && o.write_expected.empty()) usageError("--expected or --write-expected is required");
  return o;
}

// One line, bounded, so that a reason fits the pipe message, the report and the expected file.
std::string oneLine(std::string s, size_t max_len = 300) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  if (s.size() > max_len) s = s.substr(0, max_len - 3) + "...";
  return s;
}

std::vector<std::string> discoverCases(const std::string& data) {
  std::vector<std::string> cases;
  for (const char* folder : kFolders) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(data + "/" + folder, ec)) {
      if (fs::exists(entry.path() / "model.onnx"))
        cases.push_back(std::string(folder) + "/" + entry.path().filename().string());
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

// Reads `<case>  # reason` lines; blank lines and lines starting with '#' are comments.
std::map<std::string, std::string> readExpected(const std::string& path, bool must_exist) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  if (!in) {
    if (must_exist) usageError("cannot read expected-failures file " + path);
    return out;
  }
  std::string line;
  while (std::getline(in, line)) {
    std::string reason;
    size_t hash = line.find('#');
    if (hash != std::string::npos) {
      reason = line.substr(hash + 1);
      line = line.substr(0, hash);
    }
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    size_t e = line.find_first_of(" \t\r", b);
    size_t rb = reason.find_first_not_of(' ');
    out[line.substr(b, e == std::string::npos ? std::string::npos : e - b)] =
        rb == std::string::npos ? std::string() : oneLine(reason.substr(rb));
  }
  return out;
}

// --- the child side -------------------------------------------------------------------------

[[noreturn]] void runChild(const Options& opt, const std::string& name, int report_fd, int log_fd) {
  // Kernels may print or abort with a message; keep that out of the runner's output but readable.
  dup2(log_fd, STDOUT_FILENO);
  dup2(log_fd, STDERR_FILENO);
#if defined(__SANITIZE_ADDRESS__)
  const bool address_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  const bool address_sanitizer = true;
#else
  const bool address_sanitizer = false;
#endif
#else
  const bool address_sanitizer = false;
#endif
  // ASan reserves terabytes of address space for its shadow memory: no RLIMIT_AS under it.
  if (opt.mem_limit_mb > 0 && !address_sanitizer) {
    rlimit lim{};
    lim.rlim_cur = lim.rlim_max = static_cast<rlim_t>(opt.mem_limit_mb) << 20;
    setrlimit(RLIMIT_AS, &lim);
  }
  alarm(static_cast<unsigned>(opt.timeout_s));  // SIGALRM's default action ends a hung case
  char tag = 'P';
  std::string why;
  try {
    why = dlc::conformance::runCase(opt.data + "/" + name, Tolerance{}, opt.export_opset);
    if (!why.empty()) tag = 'F';
  } catch (const std::bad_alloc&) {
    tag = 'C';
    why = "out of memory (std::bad_alloc)";
  } catch (const std::exception& e) {
    tag = 'C';
    why = std::string("uncaught exception: ") + e.what();
  } catch (...) {
    tag = 'C';
    why = "uncaught exception of unknown type";
  }
  // Reasons name files relative to the case, so the expected list does not depend on --data.
  const std::string case_prefix = opt.data + "/" + name + "/";
  for (size_t at; (at = why.find(case_prefix)) != std::string::npos;) why.erase(at, case_prefix.size());
  std::cout.flush();
  std::fflush(nullptr);
  std::string msg = tag + oneLine(why) + "\n";
  ssize_t unused = write(report_fd, msg.data(), msg.size());
  (void)unused;
  _exit(0);  // no destructors or atexit handlers of the parent's copy
}

// --- the parent side ------------------------------------------------------------------------

struct Running {
  size_t index;     // into the case list
  int report_fd;    // read end of the child's pipe
  FILE* log;        // the child's stdout/stderr
};

std::string readAll(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

// The last non-empty line the child printed (an assertion or abort message), for crash reasons.
std::string lastLogLine(FILE* log) {
  std::fflush(log);
  std::fseek(log, 0, SEEK_END);
  const long size = std::ftell(log);
  long from = std::max(0L, size - 4096);
  std::fseek(log, from, SEEK_SET);
  std::string tail(static_cast<size_t>(size - from), '\0');
  size_t got = std::fread(tail.data(), 1, tail.size(), log);
  tail.resize(got);
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r' || tail.back() == ' ')) tail.pop_back();
  size_t nl = tail.find_last_of('\n');
  return oneLine(nl == std::string::npos ? tail : tail.substr(nl + 1), 200);
}

std::string signalName(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    default: return "signal " + std::to_string(sig);
  }
}

Result finish(const Options& opt, const std::string& name, int wstatus, const Running& r) {
  Result res;
  res.name = name;
  std::string report = readAll(r.report_fd);
  if (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGALRM) {
    res.outcome = Outcome::Timeout;
    res.reason = "no result within " + std::to_string(opt.timeout_s) + " s";
  } else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && !report.empty()) {
    res.outcome = report[0] == 'P' ? Outcome::Pass : report[0] == 'F' ? Outcome::Fail : Outcome::Crash;
    res.reason = oneLine(report.substr(1));
  } else {
    res.outcome = Outcome::Crash;
    res.reason = WIFSIGNALED(wstatus) ? signalName(WTERMSIG(wstatus))
                                      : "exited with status " + std::to_string(WEXITSTATUS(wstatus)) + " without a result";
    std::string last = lastLogLine(r.log);
    if (!last.empty()) res.reason += " (" + last + ")";
  }
  return res;
}

std::vector<Result> runAll(const Options& opt, const std::vector<std::string>& cases) {
  std::vector<Result> results(cases.size());
  std::map<pid_t, Running> running;
  size_t next = 0, done = 0;
  while (done < cases.size()) {
    while (next < cases.size() && static_cast<int>(running.size()) < opt.jobs) {
      int fds[2];
      FILE* log = std::tmpfile();
      if (pipe(fds) != 0 || log == nullptr) {
        std::perror("dlc_conformance: pipe/tmpfile");
        std::exit(2);
      }
      std::fflush(nullptr);  // the child must not inherit unwritten output
      pid_t pid = fork();
      if (pid < 0) {
        std::perror("dlc_conformance: fork");
        std::exit(2);
      }
      if (pid == 0) {
        close(fds[0]);
        runChild(opt, cases[next], fds[1], fileno(log));
      }
      close(fds[1]);  // so the read end sees EOF once the child is gone
      running[pid] = Running{next, fds[0], log};
      ++next;
    }
    int wstatus = 0;
    pid_t pid = waitpid(-1, &wstatus, 0);
    if (pid < 0) {
      std::perror("dlc_conformance: waitpid");
      std::exit(2);
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const Running& r = it->second;
    results[r.index] = finish(opt, cases[r.index], wstatus, r);
    close(r.report_fd);
    std::fclose(r.log);
    running.erase(it);
    ++done;
    if (opt.verbose) {
      const Result& res = results[r.index];
      std::cerr << "[" << done << "/" << cases.size() << "] " << outcomeWord(res.outcome) << " " << res.name
                << (res.reason.empty() ? "" : ": " + res.reason) << "\n";
    }
  }
  return results;
}

// The reason recorded in the expected file: crashes and timeouts keep their word.
std::string listedReason(const Result& r) {
  if (r.outcome == Outcome::Fail) return r.reason;
  return std::string(outcomeWord(r.outcome)) + (r.reason.empty() ? "" : ": " + r.reason);
}

void writeExpected(const Options& opt, const std::vector<Result>& results) {
  // Keep entries outside the filter so a filtered run updates only its own cases.
  std::map<std::string, std::string> entries;
  for (auto& [name, reason] : readExpected(opt.write_expected, false))
    if (name.find(opt.filter) == std::string::npos) entries[name] = reason;
  for (const Result& r : results)
    if (r.outcome != Outcome::Pass) entries[r.name] = listedReason(r);
  std::ofstream out(opt.write_expected);
  if (!out) usageError("cannot write " + opt.write_expected);
  out << "# ONNX backend-test cases (libonnx-testdata) that the reference backend fails today, one per\n"
         "# line: `<folder>/<case>  # <reason>`. dlc_conformance fails when the failing set differs from\n"
         "# this list, so it only shrinks. Regenerate with\n"
         "#   dlc_conformance --data /usr/share/libonnx-testdata/data --write-expected <this file>\n";
  if (opt.export_opset != 0)
    out << "# with --export-opset " << opt.export_opset << ": each model is exported at that opset and imported again\n"
           "# first; besides the reference failures, this lists the ops the export refuses at that opset.\n";
  for (auto& [name, reason] : entries) out << name << "  # " << reason << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parseArgs(argc, argv);
  if (!fs::is_directory(opt.data)) {
    std::cout << "SKIP: ONNX test data not found at " << opt.data << " (install libonnx-testdata)\n";
    return kSkipExitCode;
  }
  std::vector<std::string> cases;
  for (std::string& c : discoverCases(opt.data))
    if (c.find(opt.filter) != std::string::npos) cases.push_back(std::move(c));
  if (cases.empty() && opt.filter.empty()) {
    std::cout << "SKIP: no test cases under " << opt.data << "\n";
    return kSkipExitCode;
  }
  const std::vector<Result> results = runAll(opt, cases);
  int passed = 0, failed = 0;
  for (const Result& r : results) (r.outcome == Outcome::Pass ? passed : failed)++;

  if (!opt.write_expected.empty()) {
    writeExpected(opt, results);
    std::cout << "wrote " << failed << " failing cases to " << opt.write_expected << "\n";
    std::cout << passed << " passed, " << failed << " failed\n";
    return 0;
  }

  const std::map<std::string, std::string> expected = readExpected(opt.expected, true);
  bool mismatch = false;
  for (const Result& r : results) {
    const bool listed = expected.count(r.name) != 0;
    if (r.outcome == Outcome::Pass) {
      if (listed) {
        std::cout << "NOW PASSING " << r.name << " (remove it from expected_failures.txt)\n";
        mismatch = true;
      }
      continue;
    }
    if (!listed) mismatch = true;
    if (opt.list_failures) {
      std::cout << r.name << "  # " << listedReason(r) << "\n";
    } else {
      std::cout << (listed ? "" : "UNEXPECTED ") << outcomeWord(r.outcome) << " " << r.name
                << (r.reason.empty() ? "" : ": " + r.reason) << "\n";
    }
  }
  // Listed cases that no longer exist would otherwise keep the list from shrinking.
  std::map<std::string, bool> ran;
  for (const Result& r : results) ran[r.name] = true;
  for (const auto& entry : expected) {
    if (entry.first.find(opt.filter) == std::string::npos || ran.count(entry.first)) continue;
    std::cout << "STALE " << entry.first << ": no such case (remove it from expected_failures.txt)\n";
    mismatch = true;
  }
  std::cout << passed << " passed, " << failed << " failed\n";
  return mismatch ? 1 : 0;
}
