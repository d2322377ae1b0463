// dlc._core.run_command: the `dlc` subcommands run in-process with an argument list, so that the
// Python functions (dlc.compile, dlc.quantize, dlc.prune, dlc.train, ...) take exactly the command
// line's options; a failure raises dlc.Error with the command's one-line message.
#include <iostream>
#include <sstream>

#include "python/src/bindings.h"
#include "tools/cli.h"
#include "tools/train_loop.h"

namespace dlc::python {
namespace {

py::dict epochDict(const cli::EpochStats& s) {
  py::dict d;
  d["epoch"] = s.epoch;
  d["epochs"] = s.epochs;
  d["steps"] = s.steps;
  d["train_loss"] = s.train_loss;
  d["train_accuracy"] = s.train_accuracy;
  d["val_loss"] = s.val_loss;
  d["val_accuracy"] = s.val_accuracy;
  d["lr"] = s.lr;
  d["seconds"] = s.seconds;
  return d;
}

// Runs `dlc NAME ARGS...`. `on_epoch` (train only) is called with a dict per epoch; returning
// False stops the training; an exception it raises stops it and is re-raised here.
void runCommand(const std::string& name, const std::vector<std::string>& args, const py::object& on_epoch) {
  std::string message;
  int rc = 0;
  std::unique_ptr<py::error_already_set> callback_error;
  {
    cli::ErrorCapture capture(&message);
    if (name == "train") {
      cli::EpochCallback callback;
      if (!on_epoch.is_none())
        callback = [&](const cli::EpochStats& s) {
          py::gil_scoped_acquire locked;
          try {
            py::object r = on_epoch(epochDict(s));
            return r.is_none() || r.cast<bool>();
          } catch (py::error_already_set& e) {
            callback_error = std::make_unique<py::error_already_set>(std::move(e));
            return false;
          }
        };
      py::gil_scoped_release unlocked;
      try {
        rc = cli::runTrain(args, callback);
      } catch (const std::exception& e) {
        rc = cli::fail(std::string("internal error: ") + e.what());
      }
    } else {
      cli::Command command = cli::findCommand(name);
      if (!command) throw Error("unknown command '" + name + "'");
      if (!on_epoch.is_none()) throw Error("on_epoch applies to train");
      py::gil_scoped_release unlocked;
      try {
        rc = command(args);
      } catch (const std::bad_alloc&) {
        rc = cli::fail("out of memory");
      } catch (const std::exception& e) {
        rc = cli::fail(std::string("internal error: ") + e.what());
      }
    }
  }
  if (callback_error) throw std::move(*callback_error);
  if (rc != 0) throw Error(message.empty() ? "dlc " + name + " failed (exit status " + std::to_string(rc) + ")" : message);
}

// The command's --help text (what the Python wrappers use as their docstrings).
std::string commandHelp(const std::string& name) {
  std::ostringstream text;
  std::streambuf* saved = std::cout.rdbuf(text.rdbuf());
  int rc = 0;
  try {
    cli::Command command = cli::findCommand(name);
    rc = command ? command({"--help"}) : 1;
  } catch (...) {
    std::cout.rdbuf(saved);
    throw;
  }
  std::cout.rdbuf(saved);
  if (rc != 0) throw Error("unknown command '" + name + "'");
  return text.str();
}

}  // namespace

void bindCommands(py::module_& m) {
  m.def("run_command", &runCommand, py::arg("name"), py::arg("args"), py::arg("on_epoch") = py::none());
  m.def("command_help", &commandHelp);
}

}  // namespace dlc::python
