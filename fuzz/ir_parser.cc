// libFuzzer harness: the textual IR parser. Bytes -> parse; a graph the verifier accepts must
// round-trip: print(parse(print(g))) == print(g) (DESIGN.md principle 5).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/harness.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto graph = dlc::parseGraph(text, "<fuzz>");
  if (!graph.ok()) {
    dlc::fuzz::checkMessage(graph.status().message(), "parseGraph");
    return 0;
  }
  dlc::Status valid = dlc::verifyGraph(**graph);
  if (!valid.ok()) {
    dlc::fuzz::checkMessage(valid.message(), "verifyGraph");
    return 0;
  }
  const std::string once = dlc::printGraph(**graph);
  auto again = dlc::parseGraph(once, "<printed>");
  if (!again.ok()) dlc::fuzz::finding("the printed IR does not parse: " + again.status().message() + "\n" + once);
  const std::string twice = dlc::printGraph(**again);
  if (twice != once) dlc::fuzz::finding("print(parse(print(g))) != print(g):\n" + once + "\n----\n" + twice);
  return 0;
}
