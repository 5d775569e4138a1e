//===- ATenDialect.cpp - the aten frontend dialect --------------------------===//

#include "ampc/Dialect/ATen/IR/ATen.h"

using namespace mlir;
using namespace ampc::aten;

#include "ampc/Dialect/ATen/IR/ATenDialect.cpp.inc"

void ATenDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ampc/Dialect/ATen/IR/ATenOps.cpp.inc"
      >();
}
