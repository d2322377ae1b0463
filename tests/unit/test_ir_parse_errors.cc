// Textual IR parser: malformed inputs give "<source>:<line>:<col>: <what>" errors and never crash.
#include <gtest/gtest.h>

#include "ir/parser.h"
#include "ir/printer.h"

namespace dlc {
namespace {

struct BadInput {
  const char* text;
  const char* message;  // the whole expected error
};

TEST(IrTextParseErrors, MalformedInputsNameLineAndColumn) {
  const BadInput cases[] = {
      {"", "bad.dlcir:1:1: expected 'graph', got end of input"},
      {"graph main () {\n  return\n}", "bad.dlcir:1:7: expected the graph name (@name), got 'main'"},
      {"graph @g () {\n  %y = Foo(%x) : f32[]\n  return %y\n}", "bad.dlcir:2:8: unknown op 'Foo'"},
      {"graph @g (%x: f32[2]) {\n  %y = Relu(%q) : f32[2]\n  return %y\n}", "bad.dlcir:2:13: undefined value %q"},
      {"graph @g (%x: f32[2]) {\n  %x = Relu(%x) : f32[2]\n  return %x\n}",
       "bad.dlcir:2:3: redefinition of %x (first defined at 1:11)"},
      {"graph @g (%x: f32[2]) {\n  %a, %a = Split(%x) : f32[1], f32[1]\n  return %a\n}",
       "bad.dlcir:2:7: redefinition of %a (first defined at 2:3)"},
      {"graph @g (%x: f32[2]) {\n  %y = Split(%x) {axis = \"a\"} : f32[2]\n  return %y\n}",
       "bad.dlcir:2:26: attribute 'axis' of Split must be an integer, got \"a\""},
      {"graph @g (%x: f32[2]) {\n  %y = Relu(%x) {foo = 1} : f32[2]\n  return %y\n}",
       "bad.dlcir:2:18: unknown attribute 'foo' for Relu"},
      {"graph @g (%x: f32[2]) {\n  %y = Split(%x) {axis = 1, axis = 2} : f32[2]\n  return %y\n}",
       "bad.dlcir:2:29: duplicate attribute 'axis'"},
      {"graph @g (%x: f33[2]) {\n  return %x\n}", "bad.dlcir:1:15: unknown type 'f33'"},
      {"graph @g (%x: f32[-1]) {\n  return %x\n}", "bad.dlcir:1:19: negative dimension -1"},
      {"graph @g (%x: f32[2) {\n  return %x\n}", "bad.dlcir:1:20: expected ',' or ']', got ')'"},
      {"graph @g producer \"abc", "bad.dlcir:1:19: unterminated string"},
      {"graph @g producer \"a\\qb\" () {\n  return\n}", "bad.dlcir:1:19: unknown escape '\\q' in string"},
      {"graph @g () {\n}", "bad.dlcir:2:1: expected an op or 'return', got '}'"},
      {"graph @g (%x: f32[2]) {\n  %a, %b = Split(%x) : f32[1]\n  return %a\n}",
       "bad.dlcir:2:22: Split has 2 results but 1 types"},
      {"graph @g (%x: f32[2]) {\n  %y = Relu(%x)\n  return %y\n}",
       "bad.dlcir:3:3: expected ':' and the result types, got 'return'"},
      {"graph @g () {\n  return\n} extra", "bad.dlcir:3:3: expected end of input after the graph, got 'extra'"},
      {"graph @g (%x: f32[2]) {\n  %y = Split(%x) {axis = 99999999999999999999} : f32[2]\n  return %y\n}",
       "bad.dlcir:2:26: integer 99999999999999999999 is out of range"},
      {"graph @g () {\n  %c = Constant() {value = tensor<f32[2]> 0x0000803f} : f32[2]\n  return %c\n}",
       "bad.dlcir:2:43: tensor data has 8 hex digits, f32 with 2 elements needs 16"},
      {"graph @g () {\n  %c = Constant() {value = tensor<f32[99999999999,99999999999]> 0x} : f32[1]\n  return %c\n}",
       "bad.dlcir:2:51: tensor constant is too large"},
      {"graph @g () {\n  %c = Constant() {value = tensor<string[2]> [\"a\"]} : string[2]\n  return %c\n}",
       "bad.dlcir:2:35: string tensor has 1 elements, its shape needs 2"},
      {"graph @g () {\n  %c = Constant() {value = tensor<f32[20]> <elided>} : f32[20]\n  return %c\n}",
       "bad.dlcir:2:44: constant is elided; re-import without eliding"},
      {"graph @g () {\n  %c = Constant() {value_float = 1e99} : f32[]\n  return %c\n}",
       "bad.dlcir:2:34: float 1e99 is out of range"},
      {"graph @g (%x: f32[2]) {\n  %1a = Relu(%x) : f32[2]\n  return %1a\n}",
       "bad.dlcir:2:3: a value name starting with a digit must be quoted: %\"...\""},
      {"graph @g (%x: f32[2]) {\n  %y = Relu(%x) : f32[2] $\n  return %y\n}", "bad.dlcir:2:26: unexpected character '$'"},
      {"graph @g (%x: f32[2]) \x01", "bad.dlcir:1:23: unexpected byte 0x01"},
      {"graph @g (%c: bool[]) {\n  %z = If(%c) {then_branch = region() {\n    %t = Relu(%z) : f32[2]\n"
       "    return %t\n  }} : f32[2]\n  return %z\n}",
       "bad.dlcir:3:15: undefined value %z"},
      {"graph @g (%c: bool[]) {\n  %z = If(%c) {then_branch = region() {\n    %t = Relu(%c) : f32[2]\n"
       "    return %t\n  }} : f32[2]\n  return %t\n}",
       "bad.dlcir:6:10: undefined value %t"},
      {"graph @g opsets {\"\" = 17, \"\" = 18} () {\n  return\n}", "bad.dlcir:1:27: duplicate opset for domain \"\""},
  };
  for (const BadInput& c : cases) {
    auto g = parseGraph(c.text, "bad.dlcir");
    ASSERT_FALSE(g.ok()) << c.text;
    EXPECT_EQ(g.status().message(), c.message) << c.text;
  }
}

TEST(IrTextParseErrors, DeepNestingIsAnErrorNotAStackOverflow) {
  std::string text = "graph @g (%x: ";
  for (int i = 0; i < 100000; ++i) text += "seq<";
  auto g = parseGraph(text, "deep");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("nesting too deep"), std::string::npos) << g.status().message();
}

const char* kValid = R"IR(graph @m opsets {"" = 17} producer "p" (%x: f32[N,2], %c: bool[]) {
  %w = Constant() {value = tensor<f32[2]> 0x0000803f00000040} loc("w") : f32[2]
  %y = Add(%x, %w) : f32[N,2]
  %a, %b = Split(%y, _) {axis = 1} : f32[N,1], f32[N,1]
  %z = If(%c) {else_branch = region() {
    return %a
  }, then_branch = region(%q: i64[]) {
    %n = Neg(%b) : f32[N,1]
    return %n
  }} : f32[N,1]
  return %y, %z
}
)IR";

TEST(IrTextParseErrors, EveryTruncationFailsCleanly) {
  std::string text = kValid;
  ASSERT_TRUE(parseGraph(text).ok());
  for (size_t n = 0; n + 1 < text.size(); ++n) {
    auto g = parseGraph(text.substr(0, n), "cut");
    // Cutting only the final newline leaves a complete graph.
    if (n >= text.size() - 1) continue;
    EXPECT_FALSE(g.ok()) << n;
    if (!g.ok()) {
      EXPECT_EQ(g.status().message().rfind("cut:", 0), 0u) << g.status().message();
    }
  }
}

TEST(IrTextParseErrors, RandomByteMutationsNeverCrash) {
  std::string text = kValid;
  uint64_t state = 12345;
  auto rnd = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>(state >> 33);
  };
  const char kBytes[] = "%@\"{}()[]<>,:=*?_-0x19eAz \n\\\x01\xff";
  for (int iter = 0; iter < 3000; ++iter) {
    std::string mutated = text;
    int edits = 1 + static_cast<int>(rnd() % 3);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rnd() % mutated.size();
      switch (rnd() % 3) {
        case 0: mutated[pos] = kBytes[rnd() % (sizeof kBytes - 1)]; break;
        case 1: mutated.erase(pos, 1 + rnd() % 4); break;
        default: mutated.insert(pos, 1, kBytes[rnd() % (sizeof kBytes - 1)]); break;
      }
      if (mutated.empty()) mutated = "g";
    }
    auto g = parseGraph(mutated, "mut");
    if (g.ok()) {
      // Whatever parsed must print and reparse to the same text.
      std::string printed = printGraph(*g.value());
      auto again = parseGraph(printed, "reprint");
      ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << printed;
      EXPECT_EQ(printGraph(*again.value()), printed);
    } else {
      EXPECT_EQ(g.status().message().rfind("mut:", 0), 0u) << g.status().message();
    }
  }
}

}  // namespace
}  // namespace dlc
