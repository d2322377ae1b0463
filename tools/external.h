// The external programs some outputs are drawn with: Graphviz's `dot` (dlc inspect --format svg)
// and the dlc Python package's matplotlib plots (python3 -m dlc.plot, for --plot options).
#pragma once

#include <string>
#include <vector>

#include "ir/status.h"

namespace dlc::cli {

// Runs argv (searched on PATH) and waits; an error carries its exit status and the last line it
// wrote to stderr, and names `what`.
Status runProgram(const std::vector<std::string>& argv, const std::string& what);

// Renders Graphviz `dot_text` as SVG into `out_path` (atomically), or to stdout when it is empty.
Status renderDot(const std::string& dot_text, const std::string& out_path);

// Draws `kind` (training, sqnr, profile; see python/dlc/plot.py) from the file `data_path` into
// `out_path` (.png, .svg or .pdf) with the Python package. The interpreter is $DLC_PYTHON or the
// one the build was configured with; the package beside this executable (build/python, or the
// install prefix's site-packages) comes first on its path.
Status drawPlot(const std::string& kind, const std::string& data_path, const std::string& out_path);

// Checks a --plot file name before the work that produces its data.
Status checkPlotPath(const std::string& path);

// A fresh file name in the temporary directory, ending in `suffix` (the caller removes it).
std::string temporaryPath(const std::string& suffix);

}  // namespace dlc::cli
