//===- PolicyFileTest.cpp - policy lists and policy files -------------------===//

#include "ampc/Precision/PrecisionPolicy.h"

#include "llvm/Support/MemoryBuffer.h"
#include "gtest/gtest.h"

using namespace ampc;

namespace {

std::vector<PolicyDiagnostic> applyText(PrecisionPolicy &policy, llvm::StringRef text,
                                        bool expectSuccess) {
  std::vector<PolicyDiagnostic> diags;
  auto buffer = llvm::MemoryBuffer::getMemBuffer(text, "policy.yaml");
  EXPECT_EQ(succeeded(policy.applyFile(*buffer, diags)), expectSuccess);
  return diags;
}

TEST(PrecisionPolicy, DefaultsFollowTheAnchors) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  EXPECT_EQ(policy.lookup("linalg.matmul"), OpClass::Allow);
  EXPECT_EQ(policy.lookup("linalg.batch_matmul"), OpClass::Allow);
  EXPECT_EQ(policy.lookup("linalg.conv_2d_nhwc_hwcf"), OpClass::Allow);
  EXPECT_EQ(policy.lookup("linalg.depthwise_conv_2d_nhwc_hwc"), OpClass::Allow);
  EXPECT_EQ(policy.lookup("math.exp"), OpClass::Deny);
  EXPECT_EQ(policy.lookup("math.log"), OpClass::Deny);
  EXPECT_EQ(policy.lookup("linalg.softmax"), OpClass::Deny);
  EXPECT_EQ(policy.lookup("arith.addf"), OpClass::Infer);
  EXPECT_EQ(policy.lookup("linalg.pooling_nhwc_sum"), OpClass::Infer);
  EXPECT_EQ(policy.lookup("linalg.pooling_nhwc_max"), OpClass::Clear);
  EXPECT_EQ(policy.lookup("tensor.expand_shape"), OpClass::Clear);
  EXPECT_EQ(policy.lookup("linalg.generic"), std::nullopt);
  EXPECT_EQ(policy.lookup("foo.bar"), std::nullopt);
}

TEST(PrecisionPolicy, ExactEntryBeatsGlobAndLongerGlobBeatsShorter) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  ASSERT_TRUE(policy.add(OpClass::Deny, "linalg.conv_3d*"));
  ASSERT_TRUE(policy.add(OpClass::Infer, "linalg.conv_2d_nchw_fchw"));
  std::string matched;
  EXPECT_EQ(policy.lookup("linalg.conv_3d_ndhwc_dhwcf", &matched), OpClass::Deny);
  EXPECT_EQ(matched, "linalg.conv_3d*");
  EXPECT_EQ(policy.lookup("linalg.conv_2d_nchw_fchw", &matched), OpClass::Infer);
  EXPECT_EQ(matched, "linalg.conv_2d_nchw_fchw");
  EXPECT_EQ(policy.lookup("linalg.conv_2d_nhwc_hwcf"), OpClass::Allow);
}

TEST(PrecisionPolicy, AddMovesBetweenClassesRemoveOnlyFromItsClass) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  ASSERT_TRUE(policy.add(OpClass::Deny, "linalg.matmul"));
  EXPECT_EQ(policy.lookup("linalg.matmul"), OpClass::Deny);
  EXPECT_FALSE(policy.remove(OpClass::Allow, "linalg.matmul"));
  EXPECT_TRUE(policy.remove(OpClass::Deny, "linalg.matmul"));
  EXPECT_EQ(policy.lookup("linalg.matmul"), std::nullopt);
  EXPECT_FALSE(policy.add(OpClass::Allow, "linalg.[conv"));
}

TEST(PolicyFile, YamlAddsAndRemoves) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  auto diags = applyText(policy, R"(
allow: [math.tanh]
deny:
  add: [linalg.batch_matmul]
  remove: [math.log]
infer:
  remove: [arith.divf]
)", true);
  EXPECT_TRUE(diags.empty());
  EXPECT_EQ(policy.lookup("math.tanh"), OpClass::Allow);
  EXPECT_EQ(policy.lookup("linalg.batch_matmul"), OpClass::Deny);
  EXPECT_EQ(policy.lookup("arith.divf"), std::nullopt);
  EXPECT_EQ(policy.lookup("math.log"), std::nullopt);
}

TEST(PolicyFile, JsonIsAccepted) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  auto diags = applyText(policy, R"({"base": "empty", "allow": ["linalg.matmul"],
    "clear": {"add": ["linalg.transpose"]}})", true);
  EXPECT_TRUE(diags.empty());
  EXPECT_EQ(policy.lookup("linalg.matmul"), OpClass::Allow);
  EXPECT_EQ(policy.lookup("linalg.transpose"), OpClass::Clear);
  EXPECT_EQ(policy.lookup("math.exp"), std::nullopt); // base: empty
}

TEST(PolicyFile, SyntaxErrorHasLineAndColumn) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  auto diags = applyText(policy, "allow:\n  - linalg.matmul\n deny: [\n", false);
  ASSERT_FALSE(diags.empty());
  EXPECT_EQ(diags.front().severity, PolicyDiagnostic::Severity::Error);
  EXPECT_EQ(diags.front().file, "policy.yaml");
  EXPECT_GE(diags.front().line, 2u);
}

TEST(PolicyFile, UnknownKeyIsLocatedError) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  auto diags = applyText(policy, "allow: [linalg.matmul]\nforbid: [math.exp]\n", false);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].line, 2u);
  EXPECT_EQ(diags[0].column, 1u);
  EXPECT_NE(diags[0].message.find("unknown key 'forbid'"), std::string::npos);
}

TEST(PolicyFile, ErrorsLeaveThePolicyUnchanged) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  applyText(policy, "deny: [linalg.matmul]\nallow: 3\n", false);
  EXPECT_EQ(policy.lookup("linalg.matmul"), OpClass::Allow);
}

TEST(PolicyFile, NonOpNameIsError) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  auto diags = applyText(policy, "deny: [matmul]\n", false);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].line, 1u);
  EXPECT_EQ(diags[0].column, 8u);
}

TEST(PolicyFile, RemovingAbsentEntryWarns) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  auto diags = applyText(policy, "deny: {remove: [linalg.matmul]}\n", true);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].severity, PolicyDiagnostic::Severity::Warning);
}

TEST(PolicyFile, MissingFileIsError) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  std::vector<PolicyDiagnostic> diags;
  EXPECT_TRUE(failed(policy.applyFile("/nonexistent/policy.yaml", diags)));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find("cannot read policy file"), std::string::npos);
}

TEST(PolicyFile, SyntaxErrorsInsideValuesAreReportedNotCrashes) {
  // The YAML parser leaves a null node where a value fails to parse (an
  // anchor without a node, a byte that is not UTF-8); the reader used to
  // dereference it.
  for (const char *text : {"deny: &", "deny: \xfc\n", "deny: {add: &}\n", "allow:\n  add: [&\n",
                           "? &\n", "deny: [linalg.matmul, &]\n"}) {
    PrecisionPolicy policy = PrecisionPolicy::getDefault();
    auto diags = applyText(policy, text, false);
    ASSERT_FALSE(diags.empty()) << text;
    EXPECT_EQ(diags.front().severity, PolicyDiagnostic::Severity::Error) << text;
    EXPECT_EQ(policy.lookup("linalg.matmul"), OpClass::Allow) << text;
  }
}

TEST(PolicyFile, GlobEntriesMatch) {
  // A glob read from a file kept a pointer into a temporary string: it
  // matched nothing (and read freed memory).
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  auto diags = applyText(policy, "deny: [linalg.gen*, \"linalg.pooling_nchw_s*\"]\n", true);
  EXPECT_TRUE(diags.empty());
  std::string matched;
  EXPECT_EQ(policy.lookup("linalg.generic", &matched), OpClass::Deny);
  EXPECT_EQ(matched, "linalg.gen*");
  EXPECT_EQ(policy.lookup("linalg.pooling_nchw_sum"), OpClass::Deny);
  // Copies of the policy match too (a copy is made for every file applied).
  PrecisionPolicy copy = policy;
  policy = PrecisionPolicy::getEmpty();
  EXPECT_EQ(copy.lookup("linalg.generic"), OpClass::Deny);
  EXPECT_EQ(copy.lookup("linalg.pooling_nchw_sum"), OpClass::Deny);
}

TEST(PolicyFile, NotAnOpNameIsError) {
  for (const char *name : {".", "linalg.", ".matmul", "matmul", "*"}) {
    PrecisionPolicy policy = PrecisionPolicy::getDefault();
    auto diags = applyText(policy, std::string("allow: [\"") + name + "\"]\n", false);
    ASSERT_EQ(diags.size(), 1u) << name;
    EXPECT_NE(diags[0].message.find("is not an op name"), std::string::npos) << name;
    EXPECT_TRUE(checkOpPattern(name).has_value()) << name;
  }
  EXPECT_FALSE(checkOpPattern("linalg.conv_*").has_value());
  EXPECT_FALSE(checkOpPattern("math.exp").has_value());
}

TEST(PolicyFile, DevicesAndHugeFilesAreRefused) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  std::vector<PolicyDiagnostic> diags;
  EXPECT_TRUE(failed(policy.applyFile("/dev/zero", diags)));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find("not a regular file"), std::string::npos);
  EXPECT_TRUE(failed(policy.applyFile("/tmp", diags)));
}

TEST(PolicyFile, PrintRoundTrips) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  ASSERT_TRUE(policy.add(OpClass::Infer, "math.tanh"));
  std::string text;
  llvm::raw_string_ostream os(text);
  policy.print(os);
  PrecisionPolicy reread = PrecisionPolicy::getEmpty();
  auto diags = applyText(reread, text, true);
  EXPECT_TRUE(diags.empty());
  for (OpClass c : {OpClass::Allow, OpClass::Deny, OpClass::Infer, OpClass::Clear})
    EXPECT_EQ(reread.getEntries(c), policy.getEntries(c));
}

} // namespace
