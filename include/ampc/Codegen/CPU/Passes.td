//===- Passes.td - ampc CPU back end -----------------------------*- tablegen -*-===//

#ifndef AMPC_CODEGEN_CPU_PASSES_TD
#define AMPC_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def AMPTileAndVectorize : Pass<"amp-tile-and-vectorize", "::mlir::ModuleOp"> {
  let summary = "Tile matmul-like ops and vectorize the tiles for CPUs";
  let description = [{
    Part of the CPU lowering, on tensors: every `linalg.matmul` and
    `linalg.batch_matmul` is tiled into register-sized blocks (`tile-sizes`,
    M x N x K; batch dimensions get 1) and each tile is vectorized, with masks
    where a dimension does not divide. Mixed-precision matmuls keep their
    semantics: f16/bf16 tiles are widened to f32 vectors and accumulate in
    f32. `linalg.softmax` is decomposed into generics (max, sub, exp, sum,
    div) on the way, so that it lowers. Implemented as a transform-dialect
    script applied by the pass.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
                           "::mlir::transform::TransformDialect"];
  let options = [
    ListOption<"tileSizes", "tile-sizes", "int64_t", "M, N, K tile sizes (default 8,32,1)">,
  ];
}

//===----------------------------------------------------------------------===//
// CUDA back end
//===----------------------------------------------------------------------===//

def AMPRequestCWrappers : Pass<"amp-request-c-wrappers", "::mlir::ModuleOp"> {
  let summary = "Ask for C entry points (_mlir_ciface_*) of the exported functions only";
  let description = [{
    Part of the CPU lowering. Like upstream `llvm-request-c-wrappers`, sets
    `llvm.emit_c_interface` so that `convert-func-to-llvm` emits
    `_mlir_ciface_<name>` taking memref descriptors, but only on public
    functions with a body: the entry points a library exports. Declarations
    keep their C names, so calls to routines a model's harness declares
    (`func.func private @rtclock() -> f64`) still reach those routines.
  }];
}

#endif // AMPC_CODEGEN_CPU_PASSES_TD
