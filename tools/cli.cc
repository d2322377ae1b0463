// Argument parsing, model loading and error reporting shared by the dlc subcommands.
#include "tools/cli.h"

#include <cstdlib>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "frontend/onnx/importer.h"
#include "ir/parser.h"
#include "ir/verifier.h"

namespace dlc::cli {

Expected<Args> Args::parse(const std::vector<std::string>& argv, const std::vector<std::string>& value_options,
                           const std::vector<std::string>& flags) {
  Args out;
  auto known = [](const std::vector<std::string>& list, const std::string& n) {
    return std::find(list.begin(), list.end(), n) != list.end();
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a == "-o") a = "--output";
    if (a.size() == 3 && a[0] == '-' && a[1] == 'O') a = str("--O=", a[2]);  // -O2 is --O=2
    if (a.size() < 2 || a[0] != '-' || a == "-") {
      out.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (known(flags, name)) {
      if (has_value) return Status::error(str("option --", name, " takes no value"));
      out.options_.emplace(name, "");
    } else if (known(value_options, name)) {
      if (!has_value) {
        if (i + 1 >= argv.size()) return Status::error(str("option --", name, " needs a value"));
        value = argv[++i];
      }
      out.options_.emplace(name, value);
    } else {
      return Status::error(str("unknown option '", a, "' (see --help)"));
    }
  }
  return out;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = options_.find(name);
  return it == options_.end() ? fallback : it->second;
}

std::vector<std::string> Args::getAll(const std::string& name) const {
  std::vector<std::string> out;
  auto [b, e] = options_.equal_range(name);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

Expected<int> intOption(const Args& args, const std::string& name, int fallback, int min) {
  if (!args.has(name)) return fallback;
  std::string text = args.get(name);
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < min || v > 1000000)
    return Status::error(str("--", name, " must be an integer >= ", min, ", got '", text, "'"));
  return static_cast<int>(v);
}

Expected<double> doubleOption(const Args& args, const std::string& name, double fallback, double min, double max) {
  if (!args.has(name)) return fallback;
  std::string text = args.get(name);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= min && v <= max))
    return Status::error(str("--", name, " must be a number in [", min, ", ", max, "], got '", text, "'"));
  return v;
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

Expected<std::unique_ptr<Graph>> loadModel(const std::string& path) {
  auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  std::unique_ptr<Graph> graph;
  if (ends_with(".dlcir")) {
    std::ifstream in(path);
    if (!in) return Status::error(str("cannot open '", path, "'"));
    std::stringstream ss;
    ss << in.rdbuf();
    DLC_ASSIGN_OR_RETURN(graph, parseGraph(ss.str(), path));
  } else if (ends_with(".dlc")) {
    return Status::error(str("compiled .dlc artifacts are not supported yet; pass the .onnx model (", path, ")"));
  } else {
    DLC_ASSIGN_OR_RETURN(graph, onnx_import::importModelFile(path));
  }
  Status s = verifyGraph(*graph);
  if (!s.ok()) return Status::error(str(s.message(), " (", path, ")"));
  return graph;
}

std::string jsonQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

int writeText(const std::string& text, const std::string& path) {
  if (path.empty()) {
    std::cout << text;
    return 0;
  }
  std::ofstream out(path);
  out << text;
  if (!out) return fail(str("cannot write '", path, "'"));
  return 0;
}

int fail(const Status& status) { return fail(status.message()); }

namespace {
thread_local std::string* error_sink = nullptr;
}  // namespace

ErrorCapture::ErrorCapture(std::string* sink) : previous_(error_sink) { error_sink = sink; }
ErrorCapture::~ErrorCapture() { error_sink = previous_; }

int fail(const std::string& message) {
  std::string one_line = message;
  std::replace(one_line.begin(), one_line.end(), '\n', ' ');
  if (error_sink) {
    *error_sink = one_line;
    return 1;
  }
  std::cerr << "dlc: error: " << one_line << "\n";
  return 1;
}

namespace {
int runTrainCommand(const std::vector<std::string>& args) { return runTrain(args); }
}  // namespace

Command findCommand(const std::string& name) {
  static const std::map<std::string, Command> table = {
      {"import", runImport}, {"run", runRun},         {"inspect", runInspect}, {"opt", runOpt},
      {"bench", runBench},   {"compile", runCompile}, {"export", runExport},   {"train", runTrainCommand},
      {"quantize", runQuantize}, {"prune", runPrune},
  };
  auto it = table.find(name);
  return it == table.end() ? nullptr : it->second;
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Status writeFileAtomically(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::error(str("cannot write '", tmp, "'"));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::remove(tmp.c_str());
      return Status::error(str("cannot write '", tmp, "'"));
    }
  }
  // A new file, not a rewrite: processes that have the old one mapped keep seeing it intact.
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::error(str("cannot replace '", path, "'"));
  }
  return Status::success();
}


}  // namespace dlc::cli
