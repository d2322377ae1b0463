// IR verifier: structural SSA checks, op signatures, and result types against shape inference.
#include <gtest/gtest.h>

#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace dlc {
namespace {

std::unique_ptr<Graph> mustParse(const std::string& text) {
  auto g = parseGraph(text, "verify.dlcir");
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (!g.ok()) return nullptr;
  return std::move(g).value();
}

Op* nthOp(Region& r, int n) {
  auto it = r.ops().begin();
  std::advance(it, n);
  return it->get();
}

TEST(Verifier, AcceptsWellFormedGraph) {
  auto g = mustParse(R"IR(graph @g (%x: f32[N,3], %y: f32[3], %z: f32[1,3]) {
  %a = Add(%x, %y) loc("add") : f32[N,3]
  %r = Relu(%a) : f32[N,3]
  %s = Sigmoid(%r) : f32[N,3]
  %e = Equal(%s, %z) : bool[N,3]
  %t = Sum(%x, %y, %z) : f32[N,3]
  return %e, %t
}
)IR");
  ASSERT_NE(g, nullptr);
  Status s = verifyGraph(*g);
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(Verifier, UnknownAndSymbolicDimsAreCompatible) {
  // Inference gives f32[2,3] for each; the recorded types know less, which is not a conflict.
  auto g = mustParse(R"IR(graph @g (%x: f32[2,3]) {
  %a = Relu(%x) : f32[?,3]
  %b = Relu(%x) : f32[M,3]
  %c = Relu(%x) : f32[*]
  return %a, %b, %c
}
)IR");
  ASSERT_NE(g, nullptr);
  Status s = verifyGraph(*g);
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(Verifier, ResultTypeMismatchNamesOpLocationAndTypes) {
  const std::string text = R"IR(graph @g (%x: f32[2,3], %y: f32[3]) {
  %a = Add(%x, %y) loc("add_1") : f32[2,4]
  return %a
}
)IR";
  auto g = mustParse(text);
  ASSERT_NE(g, nullptr);
  Status s = verifyGraph(*g);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "verifier: Add 'add_1': result 0 has type f32[2,4] but inference gives f32[2,3]");
  EXPECT_EQ(printGraph(*g), text);  // verifying does not rewrite the recorded type
}

TEST(Verifier, DtypeAndRankMismatches) {
  auto dtype = mustParse(R"IR(graph @g (%x: f32[2]) {
  %e = Equal(%x, %x) loc("eq") : f32[2]
  return %e
}
)IR");
  ASSERT_NE(dtype, nullptr);
  EXPECT_EQ(verifyGraph(*dtype).message(), "verifier: Equal 'eq': result 0 has type f32[2] but inference gives bool[2]");
  auto rank = mustParse(R"IR(graph @g (%x: f32[2]) {
  %r = Relu(%x) loc("r") : f32[2,1]
  return %r
}
)IR");
  ASSERT_NE(rank, nullptr);
  EXPECT_EQ(verifyGraph(*rank).message(), "verifier: Relu 'r': result 0 has type f32[2,1] but inference gives f32[2]");
}

TEST(Verifier, InferenceFailureIsAnError) {
  auto g = mustParse(R"IR(graph @g (%x: f32[2,3], %y: f32[4]) {
  %a = Add(%x, %y) loc("bad_add") : f32[2,3]
  return %a
}
)IR");
  ASSERT_NE(g, nullptr);
  Status s = verifyGraph(*g);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("verifier: Add 'bad_add': ", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("cannot broadcast"), std::string::npos) << s.message();
}

TEST(Verifier, UseBeforeDefinition) {
  auto g = mustParse(R"IR(graph @g (%x: f32[2]) {
  %a = Relu(%x) loc("r1") : f32[2]
  %b = Neg(%a) loc("n2") : f32[2]
  return %b
}
)IR");
  ASSERT_NE(g, nullptr);
  Region& body = g->body();
  body.moveOpBefore(nthOp(body, 1), nthOp(body, 0));  // Neg now comes before its operand
  EXPECT_EQ(verifyGraph(*g).message(),
            "verifier: Neg 'n2': operand 0 (%a) is used before its definition or outside its scope");
}

TEST(Verifier, RegionMayNotCaptureAValueDefinedAfterItsParent) {
  auto g = mustParse(R"IR(graph @g (%x: f32[2], %c: bool[]) {
  %a = Relu(%x) loc("r1") : f32[2]
  %z = If(%c) {else_branch = region() {
    return %x
  }, then_branch = region() {
    %n = Neg(%a) loc("inner_neg") : f32[2]
    return %n
  }} loc("if0") : f32[2]
  return %z
}
)IR");
  ASSERT_NE(g, nullptr);
  Region& body = g->body();
  body.moveOpBefore(nthOp(body, 0), nullptr);  // Relu moves after the If that captures %a
  EXPECT_EQ(verifyGraph(*g).message(),
            "verifier: Neg 'inner_neg': operand 0 (%a) is used before its definition or outside its scope");
}

TEST(Verifier, OpsInsideRegionsAreChecked) {
  auto g = mustParse(R"IR(graph @g (%x: f32[2], %c: bool[]) {
  %z = If(%c) {else_branch = region() {
    return %x
  }, then_branch = region() {
    %n = Add(%x, %x) loc("inner_add") : f32[3]
    return %n
  }} loc("if0") : f32[2]
  return %z
}
)IR");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(verifyGraph(*g).message(),
            "verifier: Add 'inner_add': result 0 has type f32[3] but inference gives f32[2]");
}

TEST(Verifier, WrongOperandCount) {
  auto g = mustParse(R"IR(graph @g (%x: f32[2]) {
  %a = Add(%x) loc("a1") : f32[2]
  return %a
}
)IR");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(verifyGraph(*g).message(), "verifier: Add 'a1': has 1 inputs, expected 2 to 2");
}

TEST(Verifier, MissingRequiredAttribute) {
  auto g = mustParse(R"IR(graph @g (%x: f32[2]) {
  %a = Concat(%x, %x) loc("cat") : f32[4]
  return %a
}
)IR");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(verifyGraph(*g).message(), "verifier: Concat 'cat': required attribute 'axis' is missing");
}

TEST(Verifier, UnknownAttribute) {
  auto g = mustParse(R"IR(graph @g (%x: f32[2]) {
  %a = Relu(%x) loc("r") : f32[2]
  return %a
}
)IR");
  ASSERT_NE(g, nullptr);
  nthOp(g->body(), 0)->setAttr("alpha", Attribute::ofFloat(0.5f));
  EXPECT_EQ(verifyGraph(*g).message(), "verifier: Relu 'r': unknown attribute 'alpha'");
}

TEST(Verifier, WrongAttributeType) {
  auto g = mustParse(R"IR(graph @g (%x: f32[2]) {
  %a = Softmax(%x) {axis = 0} loc("sm") : f32[2]
  return %a
}
)IR");
  ASSERT_NE(g, nullptr);
  ASSERT_TRUE(verifyGraph(*g).ok()) << verifyGraph(*g).message();
  nthOp(g->body(), 0)->setAttr("axis", Attribute::ofFloat(0.0f));
  EXPECT_EQ(verifyGraph(*g).message(), "verifier: Softmax 'sm': attribute 'axis' must be of type i, got f");
}

TEST(Verifier, NullAndOutOfScopeOutputs) {
  auto g = mustParse(R"IR(graph @g (%x: f32[2], %c: bool[]) {
  %z = If(%c) {else_branch = region() {
    %m = Relu(%x) : f32[2]
    return %m
  }, then_branch = region() {
    %n = Neg(%x) : f32[2]
    return %n
  }} loc("if0") : f32[2]
  return %z
}
)IR");
  ASSERT_NE(g, nullptr);
  Op* if_op = nthOp(g->body(), 0);
  Region* else_branch = if_op->attr("else_branch")->g.get();
  Region* then_branch = if_op->attr("then_branch")->g.get();
  then_branch->setOutputs({nthOp(*else_branch, 0)->result(0)});  // a value of the sibling branch
  EXPECT_EQ(verifyGraph(*g).message(),
            "verifier: output 0 in a region of If 'if0' (%m) is not defined in this region or an enclosing one");
  else_branch->setOutputs({nullptr});
  EXPECT_EQ(verifyGraph(*g).message(), "verifier: output 0 in a region of If 'if0' is null");

  auto flat = mustParse("graph @g (%x: f32[2]) {\n  %a = Relu(%x) : f32[2]\n  return %a\n}\n");
  ASSERT_NE(flat, nullptr);
  flat->body().setOutputs({flat->body().output(0), nullptr});
  EXPECT_EQ(verifyGraph(*flat).message(), "verifier: output 1 of the graph is null");
}

}  // namespace
}  // namespace dlc
