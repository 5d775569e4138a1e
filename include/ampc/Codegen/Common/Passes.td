//===- Passes.td - ampc passes of both back ends -----------------*- tablegen -*-===//

#ifndef AMPC_CODEGEN_COMMON_PASSES_TD
#define AMPC_CODEGEN_COMMON_PASSES_TD

include "mlir/Pass/PassBase.td"

def AMPDistinctResults : Pass<"amp-distinct-results", "::mlir::ModuleOp"> {
  let summary = "Give each result of an exported function its own tensor";
  let description = [{
    Part of the CPU and CUDA lowerings, before bufferization. A function
    that returns one value twice (`return %y, %y`) gets two out-parameters
    from `buffer-results-to-out-params`, which crashes (upstream MLIR 22)
    when that value is a buffer the function allocates. This pass replaces
    every repeated result of a public function by a copy
    (`bufferization.alloc_tensor() copy(%y)`), so that each out-parameter is
    written from its own buffer.

    ```mlir
    return %y, %y : tensor<4xf16>, tensor<4xf16>
    // becomes
    %copy = bufferization.alloc_tensor() copy(%y) : tensor<4xf16>
    return %y, %copy : tensor<4xf16>, tensor<4xf16>
    ```
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
  let statistics = [
    Statistic<"numCopied", "copied", "Repeated results copied">,
  ];
}

def AMPUntieEmptyTensors : Pass<"amp-untie-empty-tensors", "::mlir::func::FuncOp"> {
  let summary = "Give each use of a tensor.empty (and of a fill of one) its own";
  let description = [{
    Part of the CPU lowering, right before bufferization. CSE merges equal
    `tensor.empty` ops and the `linalg.fill`s of them, so one empty tensor
    becomes the destination of several ops (the flipped kernels of a
    ResNet's backward convolutions, one per layer of a shape) and one
    zero-filled tensor the start of several accumulations and paddings.
    One-shot bufferization then gives the ops one shared buffer, written
    again and again, and copies a shared fill into a buffer of each user.
    Both hide what `amp-cpu-library-gemm` folds into a oneDNN call (a
    kernel flip, a zero padding, a zero-initialized result, each found as
    the single writer of a fresh buffer), and the copies of a fill read
    what a fill only writes.

    This pass undoes the merge: each further use of a `tensor.empty` gets
    its own clone, and each further use of a `linalg.fill` of a
    `tensor.empty` its own fill. Buffers are freed after their last use
    and the CPU allocator reuses freed blocks, so the peak memory stays the
    same.

    ```mlir
    %e = tensor.empty() : tensor<4xf32>
    %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
    %a = linalg.generic ... outs(%z : tensor<4xf32>)
    %b = linalg.generic ... outs(%z : tensor<4xf32>)
    // becomes
    %e = tensor.empty() : tensor<4xf32>
    %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
    %e1 = tensor.empty() : tensor<4xf32>
    %z1 = linalg.fill ins(%c0 : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
    %a = linalg.generic ... outs(%z : tensor<4xf32>)
    %b = linalg.generic ... outs(%z1 : tensor<4xf32>)
    ```
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect", "::mlir::linalg::LinalgDialect"];
  let statistics = [
    Statistic<"numEmpties", "empties", "tensor.empty uses given their own">,
    Statistic<"numFills", "fills", "Fill uses given their own fill">,
  ];
}

def AMPFuseElementwise : Pass<"amp-fuse-elementwise"> {
  let summary = "Fuse elementwise producers into their consumers, except into GEMMs and convolutions";
  let description = [{
    Part of the CPU and CUDA lowerings, on tensors: upstream
    `linalg-fuse-elementwise-ops` (elementwise fusion of single-use
    producers, reshape folding by expansion, constant folding), with one
    difference. A producer is not fused into a consumer that computes a
    contraction or convolution (reduction loops and an `out + a * b`
    payload): such a consumer stays recognisable for the libraries that
    run it (oneDNN, cuBLASLt), where a fused ReLU-backward mask inside a
    weight-gradient convolution would turn it into a loop nest.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::affine::AffineDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::tensor::TensorDialect"];
}

def AMPFreeAfterLastUse : Pass<"amp-free-after-last-use", "::mlir::func::FuncOp"> {
  let summary = "Free each temporary buffer right after its last use, allocate it right before its first";
  let description = [{
    Part of the CPU and CUDA lowerings, after buffer deallocation.
    Ownership-based deallocation frees a block's temporaries at the end of
    the block; a training step is one block, so every activation, gradient
    and cast copy would stay allocated until the step returns and its peak
    memory would be the sum of all temporaries. This pass moves each
    `memref.dealloc` of a buffer allocated in the same block to just after
    the last op of the block that uses the buffer: directly, through a view,
    through its extracted pointer or metadata and index arithmetic on them
    (a library GEMM call), or inside a nested region. A buffer used outside
    the block keeps its dealloc where it is. Each `memref.alloc` also moves
    down to just before the first op of its block that uses it. On the GPU
    allocations and frees are stream-ordered, so the live set at any point
    of the stream is what the step needs there.
  }];
  let statistics = [
    Statistic<"numMoved", "moved", "Deallocations moved up to the last use">,
    Statistic<"numAllocsMoved", "allocs-moved", "Allocations moved down to the first use">,
  ];
}

def AMPReadOnlyArguments : Pass<"amp-read-only-arguments", "::mlir::ModuleOp"> {
  let summary = "Mark the tensor arguments of exported functions read-only for bufferization";
  let description = [{
    Part of the CPU and CUDA lowerings, right before `one-shot-bufferize`.
    With `bufferize-function-boundaries`, One-Shot Bufferize takes every
    function argument as writable, so an argument that a linalg op uses as
    its `outs` (a matmul accumulating into an argument, an optimizer update
    of a param) is overwritten in place: the compiled code would write into
    the caller's array, and calling it twice with the same inputs would give
    different results. This pass sets `bufferization.writable = false` on
    every tensor argument of every public function with a body, so that
    bufferization copies before writing. Arguments that already carry
    `bufferization.writable` keep it: that is how a caller donates a buffer.
    The results go to caller-provided out-parameters anyway
    (`buffer-results-to-out-params`), so an updated state is written there.

    ```mlir
    func.func @f(%c: tensor<4x4xf32>) -> tensor<4x4xf32>
    // becomes
    func.func @f(%c: tensor<4x4xf32> {bufferization.writable = false}) -> tensor<4x4xf32>
    ```
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
  let statistics = [
    Statistic<"numMarked", "marked", "Arguments marked read-only">,
  ];
}

def AMPStridedCopiesToLoops : Pass<"amp-strided-copies-to-loops", "::mlir::func::FuncOp"> {
  let summary = "Turn memref.copy of non-contiguous buffers into linalg.copy";
  let description = [{
    Part of the CPU lowering, after bufferization. A `memref.copy` between
    contiguous buffers lowers to `llvm.memcpy`; one into or out of a strided
    view (an `insert_slice` into a larger tensor, a padded or spread-out
    gradient) lowers to a call to the `memrefCopy` routine of MLIR's
    C runner utilities, which compiled libraries do not link. This pass
    makes those copies `linalg.copy`, which lowers to loops like the rest
    (and, in the CUDA lowering, to kernels).

    ```mlir
    memref.copy %a, %view : memref<2x3xf32> to memref<2x3xf32, strided<[4, 1], offset: 1>>
    // becomes
    linalg.copy ins(%a : memref<2x3xf32>) outs(%view : memref<2x3xf32, strided<[4, 1], offset: 1>>)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
  let options = [
    Option<"keepContiguous", "keep-contiguous", "bool", /*default=*/"true",
           "Keep copies whose sides are contiguous views (llvm.memcpy copies "
           "them); false keeps only copies between identity-layout buffers "
           "(what gpu.memcpy takes)">,
  ];
}

#endif // AMPC_CODEGEN_COMMON_PASSES_TD
