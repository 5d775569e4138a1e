//===- CastOpTest.cpp - amp.cast helpers ------------------------------------===//

#include "ampc/Dialect/AMP/IR/AMP.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace ampc::amp;

TEST(CastOp, ExactConversions) {
  MLIRContext ctx;
  Type f32 = Float32Type::get(&ctx), f16 = Float16Type::get(&ctx),
       bf16 = BFloat16Type::get(&ctx);
  EXPECT_TRUE(CastOp::isExactConversion(f16, f32));
  EXPECT_TRUE(CastOp::isExactConversion(bf16, f32));
  EXPECT_FALSE(CastOp::isExactConversion(f32, f16));
  EXPECT_FALSE(CastOp::isExactConversion(f16, bf16));
  EXPECT_FALSE(CastOp::isExactConversion(bf16, f16));
}

TEST(CastOp, PrecisionNames) {
  MLIRContext ctx;
  EXPECT_EQ(symbolizePrecision("bf16"), Precision::bf16);
  EXPECT_EQ(symbolizePrecision("f64"), std::nullopt);
  EXPECT_TRUE(getFloatType(&ctx, Precision::bf16).isBF16());
  EXPECT_EQ(getPrecision(Float16Type::get(&ctx)), Precision::f16);
  EXPECT_EQ(getPrecision(Float64Type::get(&ctx)), std::nullopt);
  Type tensor = RankedTensorType::get({2, 3}, Float32Type::get(&ctx));
  EXPECT_EQ(withElementType(tensor, Float16Type::get(&ctx)),
            RankedTensorType::get({2, 3}, Float16Type::get(&ctx)));
}
