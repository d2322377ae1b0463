// Running Graphviz and the Python plotting module as child processes (posix_spawn, no shell).
#include "tools/external.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tools/cli.h"

extern char** environ;

namespace dlc::cli {
namespace {

std::string lastLine(const std::string& text) {
  size_t end = text.find_last_not_of("\n\r ");
  if (end == std::string::npos) return "";
  size_t start = text.find_last_of('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1));
}

// Runs argv with `env` (NULL: this process's), stderr captured.
Status spawn(const std::vector<std::string>& argv, char** env, const std::string& what) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return Status::error(str("cannot run ", what, ": no pipe"));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::fflush(stdout);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env ? env : environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  std::string err;
  char buf[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  if (rc != 0) return Status::error(str("cannot run ", what, ": '", argv[0], "' was not found or could not start"));
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return Status::error(str("cannot run ", what, ": waitpid failed"));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::success();
  std::string why = lastLine(err);
  return Status::error(str(what, " failed (", WIFEXITED(status) ? str("exit status ", WEXITSTATUS(status)) : std::string("killed"),
                           why.empty() ? "" : ": " + why, ")"));
}

std::string executableDir() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "";
  std::string p(path, static_cast<size_t>(n));
  return p.substr(0, p.find_last_of('/'));
}

}  // namespace

Status runProgram(const std::vector<std::string>& argv, const std::string& what) { return spawn(argv, nullptr, what); }

std::string temporaryPath(const std::string& suffix) {
  const char* dir = std::getenv("TMPDIR");
  std::string pattern = str(dir && *dir ? dir : "/tmp", "/dlc-XXXXXX");
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = mkstemp(name.data());
  if (fd >= 0) close(fd);
  std::string base(name.data());
  std::remove(base.c_str());
  return base + suffix;
}

Status renderDot(const std::string& dot_text, const std::string& out_path) {
  std::string in = temporaryPath(".dot");
  {
    std::ofstream f(in);
    f << dot_text;
    if (!f) return Status::error(str("cannot write '", in, "'"));
  }
  std::string target = out_path.empty() ? temporaryPath(".svg") : out_path + ".tmp";
  Status s = runProgram({"dot", "-Tsvg", "-o", target, in}, "Graphviz's dot (apt-get install graphviz)");
  std::remove(in.c_str());
  if (!s.ok()) {
    std::remove(target.c_str());
    return s;
  }
  if (out_path.empty()) {
    std::ifstream f(target);
    std::cout << f.rdbuf();
    std::remove(target.c_str());
    return Status::success();
  }
  if (std::rename(target.c_str(), out_path.c_str()) != 0) {
    std::remove(target.c_str());
    return Status::error(str("cannot replace '", out_path, "'"));
  }
  return Status::success();
}

Status checkPlotPath(const std::string& path) {
  for (const char* ext : {".png", ".svg", ".pdf"})
    if (endsWith(path, ext)) return Status::success();
  return Status::error(str("--plot '", path, "' must end in .png, .svg or .pdf"));
}

Status drawPlot(const std::string& kind, const std::string& data_path, const std::string& out_path) {
  DLC_RETURN_IF_ERROR(checkPlotPath(out_path));
  const char* env_python = std::getenv("DLC_PYTHON");
  std::string python = env_python && *env_python ? env_python : DLC_PYTHON_EXECUTABLE;
  // The package beside this executable: build/tools/dlc -> build/python; PREFIX/bin/dlc ->
  // PREFIX/lib/pythonX.Y/{dist,site}-packages (the child's own sys.path has the version).
  std::string here = executableDir();
  std::string path = here + "/../python";
  for (const char* site : {DLC_PYTHON_SITE_DIR})
    if (*site) path += str(":", here, "/../", site);
  if (const char* old = std::getenv("PYTHONPATH"); old && *old) path += str(":", old);
  std::vector<std::string> env_strings = {"PYTHONPATH=" + path};
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("PYTHONPATH=", 0) != 0) env_strings.emplace_back(*e);
  std::vector<char*> env;
  for (auto& s : env_strings) env.push_back(s.data());
  env.push_back(nullptr);
  return spawn({python, "-m", "dlc.plot", kind, data_path, out_path}, env.data(),
               str("drawing '", out_path, "' with the dlc Python package (", python, " -m dlc.plot; it needs matplotlib)"));
}

}  // namespace dlc::cli
