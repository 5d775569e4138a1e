//===- ClassifyTest.cpp - classification of real ops ------------------------===//

#include "ampc/InitAll.h"
#include "ampc/Precision/PrecisionPolicy.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/MemoryBuffer.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace ampc;

namespace {

class ClassifyTest : public ::testing::Test {
protected:
  ClassifyTest() {
    DialectRegistry registry;
    ampc::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  /// Parses a function body and classifies its first op carrying `tag`.
  Classification classifyTagged(StringRef body,
                                const PrecisionPolicy &policy = PrecisionPolicy::getDefault()) {
    std::string text = ("#id = affine_map<(d0, d1) -> (d0, d1)>\n"
                        "#row = affine_map<(d0, d1) -> (d0)>\n"
                        "func.func @f(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>, "
                        "%r: tensor<4xf32>) {\n" +
                        body + "\n  return\n}\n")
                           .str();
    module = parseSourceString<ModuleOp>(text, &context);
    EXPECT_TRUE(module) << text;
    Operation *found = nullptr;
    module->walk([&](Operation *op) {
      if (!found && op->hasAttr("tag"))
        found = op;
    });
    EXPECT_TRUE(found);
    return found ? policy.classify(found) : Classification{};
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
};

TEST_F(ClassifyTest, NamedOpsByList) {
  auto m = classifyTagged(R"(
    %t = tensor.empty() : tensor<4x4xf32>
    %bt = tensor.empty() : tensor<8x4xf32>
    %m = linalg.matmul {tag} ins(%a, %bt : tensor<4x8xf32>, tensor<8x4xf32>) outs(%t : tensor<4x4xf32>) -> tensor<4x4xf32>)");
  EXPECT_EQ(m.opClass, OpClass::Allow);
  EXPECT_EQ(m.rule, "allow list entry 'linalg.matmul'");
}

TEST_F(ClassifyTest, GenericWithExpIsDeny) {
  auto c = classifyTagged(R"(
    %e = linalg.generic {tag, indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%a : tensor<4x8xf32>) outs(%b : tensor<4x8xf32>) {
      ^bb0(%x: f32, %o: f32):
        %y = math.exp %x : f32
        linalg.yield %y : f32
    } -> tensor<4x8xf32>)");
  EXPECT_EQ(c.opClass, OpClass::Deny);
  EXPECT_NE(c.rule.find("math.exp"), std::string::npos);
}

TEST_F(ClassifyTest, SumReductionIsDenyMaxReductionIsClear) {
  auto sum = classifyTagged(R"(
    %s = linalg.generic {tag, indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
        ins(%a : tensor<4x8xf32>) outs(%r : tensor<4xf32>) {
      ^bb0(%x: f32, %o: f32):
        %y = arith.addf %x, %o : f32
        linalg.yield %y : f32
    } -> tensor<4xf32>)");
  EXPECT_EQ(sum.opClass, OpClass::Deny);
  EXPECT_EQ(sum.rule, "sum reduction");
  auto max = classifyTagged(R"(
    %s = linalg.generic {tag, indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
        ins(%a : tensor<4x8xf32>) outs(%r : tensor<4xf32>) {
      ^bb0(%x: f32, %o: f32):
        %y = arith.maximumf %x, %o : f32
        linalg.yield %y : f32
    } -> tensor<4xf32>)");
  EXPECT_EQ(max.opClass, OpClass::Clear);
}

TEST_F(ClassifyTest, ElementwiseAndCopyPayloads) {
  auto add = classifyTagged(R"(
    %s = linalg.generic {tag, indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%b : tensor<4x8xf32>) {
      ^bb0(%x: f32, %y: f32, %o: f32):
        %z = arith.addf %x, %y : f32
        linalg.yield %z : f32
    } -> tensor<4x8xf32>)");
  EXPECT_EQ(add.opClass, OpClass::Infer);
  auto copy = classifyTagged(R"(
    %s = linalg.generic {tag, indexing_maps = [#row, #id], iterator_types = ["parallel", "parallel"]}
        ins(%r : tensor<4xf32>) outs(%b : tensor<4x8xf32>) {
      ^bb0(%x: f32, %o: f32):
        linalg.yield %x : f32
    } -> tensor<4x8xf32>)");
  EXPECT_EQ(copy.opClass, OpClass::Clear);
}

TEST_F(ClassifyTest, GenericContractionIsAllow) {
  auto c = classifyTagged(R"(
    %bt = tensor.empty() : tensor<8x4xf32>
    %o = tensor.empty() : tensor<4x4xf32>
    %m = linalg.generic {tag, indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>],
                         iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %bt : tensor<4x8xf32>, tensor<8x4xf32>) outs(%o : tensor<4x4xf32>) {
      ^bb0(%x: f32, %y: f32, %acc: f32):
        %p = arith.mulf %x, %y : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
    } -> tensor<4x4xf32>)");
  EXPECT_EQ(c.opClass, OpClass::Allow);
}

TEST_F(ClassifyTest, MultiplyAccumulateThroughAWindowIsAllow) {
  // A convolution's input adjoint as amp-differentiate builds it (the
  // flipped filter first, then the spread-out output adjoint read through
  // the window): not the operand order upstream's convolution matcher
  // expects, but still a sum of products.
  auto filter = classifyTagged(R"(
    %w = tensor.empty() : tensor<3x3x2x4xf32>
    %dy = tensor.empty() : tensor<1x9x9x4xf32>
    %dx = tensor.empty() : tensor<1x7x7x2xf32>
    %g = linalg.generic {tag, indexing_maps = [
            affine_map<(n, h, w, f, kh, kw, c) -> (kh, kw, c, f)>,
            affine_map<(n, h, w, f, kh, kw, c) -> (n, h + kh, w + kw, f)>,
            affine_map<(n, h, w, f, kh, kw, c) -> (n, h, w, c)>],
          iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
        ins(%w, %dy : tensor<3x3x2x4xf32>, tensor<1x9x9x4xf32>) outs(%dx : tensor<1x7x7x2xf32>) {
      ^bb0(%k: f32, %d: f32, %acc: f32):
        %p = arith.mulf %d, %k : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
    } -> tensor<1x7x7x2xf32>)");
  EXPECT_EQ(filter.opClass, OpClass::Allow);
  EXPECT_EQ(filter.rule, "payload sums products of its two inputs");
  // A sum of squares is not a product of two operands: it stays f32.
  auto squares = classifyTagged(R"(
    %s = linalg.generic {tag, indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
        ins(%a : tensor<4x8xf32>) outs(%r : tensor<4xf32>) {
      ^bb0(%x: f32, %o: f32):
        %p = arith.mulf %x, %x : f32
        %y = arith.addf %o, %p : f32
        linalg.yield %y : f32
    } -> tensor<4xf32>)");
  EXPECT_EQ(squares.opClass, OpClass::Deny);
}

TEST_F(ClassifyTest, UnknownPayloadOpAndUnknownOp) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  ASSERT_TRUE(policy.remove(OpClass::Infer, "math.absf"));
  auto abs = classifyTagged(R"(
    %s = linalg.generic {tag, indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%a : tensor<4x8xf32>) outs(%b : tensor<4x8xf32>) {
      ^bb0(%x: f32, %o: f32):
        %y = math.absf %x : f32
        linalg.yield %y : f32
    } -> tensor<4x8xf32>)", policy);
  EXPECT_EQ(abs.opClass, OpClass::Unknown);
  auto call = classifyTagged(R"(
    %c = arith.constant {tag} 1.0 : f32)", PrecisionPolicy::getEmpty());
  EXPECT_EQ(call.opClass, OpClass::Unknown);
}

TEST_F(ClassifyTest, UserListsOverridePayloadAnalysis) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  ASSERT_TRUE(policy.add(OpClass::Deny, "linalg.generic"));
  auto c = classifyTagged(R"(
    %s = linalg.generic {tag, indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%a : tensor<4x8xf32>) outs(%b : tensor<4x8xf32>) {
      ^bb0(%x: f32, %o: f32):
        linalg.yield %x : f32
    } -> tensor<4x8xf32>)", policy);
  EXPECT_EQ(c.opClass, OpClass::Deny);
}

TEST_F(ClassifyTest, WarnsAboutUnregisteredNames) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  ASSERT_TRUE(policy.add(OpClass::Deny, "linalg.matmull"));
  ASSERT_TRUE(policy.add(OpClass::Deny, "nosuch.*"));
  std::vector<PolicyDiagnostic> diags;
  policy.warnUnknownNames(&context, "test", diags);
  ASSERT_EQ(diags.size(), 2u);
  for (const PolicyDiagnostic &d : diags) {
    EXPECT_EQ(d.severity, PolicyDiagnostic::Severity::Warning);
    // Added in code, so no position: the origin names them.
    EXPECT_EQ(d.file, "test");
    EXPECT_EQ(d.line, 0u);
  }
}

TEST_F(ClassifyTest, UnregisteredNamesFromAFileAreLocatedWhereWritten) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  std::vector<PolicyDiagnostic> diags;
  auto buffer = llvm::MemoryBuffer::getMemBuffer("allow: [math.tanh]\ndeny:\n  add: [math.log, linalg.matmull]\n"
                                                 "clear: ['nosuch.*']\n",
                                                 "typo.yaml");
  ASSERT_TRUE(succeeded(policy.applyFile(*buffer, diags)));
  policy.warnUnknownNames(&context, "typo.yaml", diags);
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].message, "policy entry 'linalg.matmull' names no registered operation");
  EXPECT_EQ(diags[0].file, "typo.yaml");
  EXPECT_EQ(diags[0].line, 3u);
  EXPECT_EQ(diags[0].column, 19u);
  EXPECT_EQ(diags[1].message, "policy entry 'nosuch.*' matches no registered operation");
  EXPECT_EQ(diags[1].line, 4u);
  EXPECT_EQ(diags[1].column, 9u);
}

} // namespace
