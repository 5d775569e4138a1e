//===- Passes.td - ampc CUDA back end ----------------------------*- tablegen -*-===//

#ifndef AMPC_CODEGEN_GPU_PASSES_TD
#define AMPC_CODEGEN_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def AMPGPUSinkScalars : Pass<"amp-gpu-sink-scalars", "::mlir::func::FuncOp"> {
  let summary = "Compute scalars read from 0-d tensors inside the kernels that use them";
  let description = [{
    Part of the CUDA lowering, on tensors. Optimizer and loss-scaler
    lowerings read scalars (a step counter, the loss scale) with
    `tensor.extract` and capture values computed from them in elementwise
    `linalg.generic` payloads. On the GPU those tensors live in device
    memory, which host code cannot read. This pass adds each such 0-d tensor
    to the generic as an input broadcast to every element, and recomputes
    the scalar (a few arithmetic ops) inside the payload.

    ```mlir
    %s = tensor.extract %step[] : tensor<i64>
    %first = arith.cmpi eq, %s, %c0 : i64
    %r = linalg.generic ... ins(%g, %buf : ...) {
      ^bb0(%a: f32, %b: f32, %o: f32):
        %v = arith.select %first, %a, %b : f32
    // becomes
    %r = linalg.generic ... ins(%g, %buf, %step : ..., tensor<i64>) {
      ^bb0(%a: f32, %b: f32, %s: i64, %o: f32):
        %first = arith.cmpi eq, %s, %c0 : i64
        %v = arith.select %first, %a, %b : f32
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def AMPGPUSplitReductions : Pass<"amp-gpu-split-reductions", "::mlir::func::FuncOp"> {
  let summary = "Split full reductions to a scalar so that GPU threads share them";
  let description = [{
    Part of the CUDA lowering, on tensors. A `linalg.generic` reducing every
    dimension into a 0-d tensor (a mean loss) has no parallel loop, so it
    would run in one GPU thread. When its combiner is recognized (`addf`,
    `mulf`, `maximumf`, `minimumf` with the accumulator as one operand, or
    `subf` with the accumulator first), the pass splits it: a first generic
    reduces all but the outermost dimension in parallel over that dimension
    (from the combiner's neutral element), and a second combines the partial
    results into the original accumulator. A 1-D stage longer than 256 is
    reshaped into chunks of at most 256 and split the same way. A 2-D
    reduction of at least 1024 rows (a cross-entropy over a large batch,
    the loss scaler's check of a weight gradient) is split into row chunks
    of up to 64 instead: thread (a, j) reduces rows a*c .. a*c+c-1 of column
    j, so that neighbouring threads read neighbouring elements and
    (rows / c) * columns threads share the work.

    Reductions over one dimension with fewer than 32768 parallel iterations
    and at least 512 reduction steps (bias gradients, softmax row sums) are
    split by upstream `linalg::splitReduction` into up to 64 parallel chunks
    and a combining stage, so that they fill the GPU. A reduction along the
    innermost dimension (a row sum) is split with the chunks inner
    (element k * ratio + chunk), so that neighbouring threads read
    neighbouring elements.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def AMPGPULibraryGemm : Pass<"amp-gpu-library-gemm", "::mlir::ModuleOp"> {
  let summary = "Route matmul-like ops on buffers to the runtime's cuBLASLt GEMM";
  let description = [{
    Part of the CUDA lowering, after bufferization. Every structured op that
    is a contraction with one M, one N, one K and at most one batch dimension
    (`linalg.matmul` and its transposed forms, `linalg.batch_matmul`,
    equivalent `linalg.generic`s) whose operands are f32/f16/bf16 buffers
    with unit inner stride becomes a call to `ampc_cuda_gemm` (see
    runtime/cuda/ampc_cuda_runtime.h): tensor-core GEMMs accumulating in f32.

    Two producers fold into the call:
    - a `linalg.fill` of zero into the output right before the GEMM becomes
      `beta = 0` (no separate kernel clears the accumulator);
    - a `linalg.transpose` that only feeds the GEMM becomes the GEMM's
      transpose flag (no transposed copy is written).

    For an f16/bf16 GEMM that starts from zero into an f32 buffer of its
    own, its one consumer may fold in too, so that no f32 result is written
    and read back:
    - a bias addition (a 2-D elementwise `linalg.generic` computing
      `round(c + bias)` with the bias along N, in the output's type, f16/bf16
      or f32) becomes cuBLASLt's BIAS epilogue writing the generic's output.
      The epilogue adds the bias to the f32 accumulator and rounds once,
      where autocast's payload rounds the product to bf16/f16 first: the
      result can differ in the last bit, as with PyTorch's fused
      `addmm` epilogue. A bias stored in f32 and rounded in the payload is
      rounded once into a temporary;
    - readers that all round the result to the input type first (the ReLU
      backward reads `truncf(c)`) read a GEMM output written in that type:
      cuBLASLt converts the f32 accumulator itself, rounding to nearest like
      `arith.truncf` (not yet compared bit for bit on a GPU; the GPU tests
      compare the whole step with the CPU back end within tolerances).

    ```mlir
    linalg.fill ins(%zero : f32) outs(%c : memref<32x128xf32>)
    linalg.matmul ins(%a, %b : memref<32x64xbf16>, memref<64x128xbf16>)
                  outs(%c : memref<32x128xf32>)
    // becomes
    func.call @ampc_cuda_gemm(%bf16, %bf16, %f32, %false, %false, %c1, %c32,
        %c128, %c64, %pa, %c64, %c2048, %pb, %c128, %c8192, %pc, %c128,
        %c4096, %beta0, %no_bias) : (...) -> ()
    ```

    Contractions that do not fit (other element types, non-unit inner
    strides, several M/N/K dimensions) stay as they are and become kernels.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
  let statistics = [
    Statistic<"numGemms", "gemms", "Contractions routed to cuBLASLt">,
    Statistic<"numFoldedFills", "folded-fills", "Zero fills folded into beta = 0">,
    Statistic<"numFoldedTransposes", "folded-transposes", "Transposes folded into GEMM flags">,
    Statistic<"numBiasEpilogues", "bias-epilogues", "Bias additions folded into the BIAS epilogue">,
    Statistic<"numNarrowedResults", "narrowed-results",
              "f32 GEMM results written in the input type for readers that round them">,
  ];
}

def AMPGPUInPlaceState : Pass<"amp-gpu-in-place-state", "::mlir::func::FuncOp"> {
  let summary = "Decide whether a training step may update its state in place";
  let description = [{
    Part of the CUDA lowering, on buffers, after `amp-gpu-library-gemm`. A
    training step reads its state (parameters, optimizer and scaler state)
    from arguments and writes the new state to out-parameters; the caller
    keeps two sets of buffers and swaps them. Passing the same buffer as
    argument and out-parameter halves the state's memory (and one captured
    CUDA graph then serves every step), but only if nothing reads an old
    value after the new one may have overwritten it.

    For a function carrying `ampc.state_pairs` (argument and out-parameter
    indices, pair by pair; `ampc` sets it from the training-step contract's
    roles), the pass walks the step's buffer operations in order and accepts
    a pair when, once the out-parameter may have been written, the argument
    is read only by ops that update the out-parameter element by element at
    the same indices (a linalg op with identity maps for both, such as the
    optimizer update), and nothing writes the argument. Library calls count
    as reading and writing every buffer whose address they take (the GEMM
    writes only its C). Where a pair fails because its out-parameter is
    written before the last read of the argument (a step counter
    incremented before the optimizer update that reads the old count), the
    one op writing it moves to just after that read, if nothing in between
    touches the out-parameter or writes what the op reads. When every
    pair passes, the function gets `ampc.in_place_state`, which `ampc`
    reports in the manifest (`"in_place_state": true`) and the Python
    runtime follows; otherwise nothing changes.
  }];
  let statistics = [
    Statistic<"numInPlace", "in-place", "Steps that may update their state in place">,
    Statistic<"numRejected", "rejected", "Steps that must keep two state buffers">,
    Statistic<"numMoved", "moved", "State updates moved after the last read of the old state">,
  ];
}

def AMPGPUParallelLoopsOuter : Pass<"amp-gpu-parallel-loops-outer", "::mlir::func::FuncOp"> {
  let summary = "Put the parallel loops of structured ops outermost, for GPU mapping";
  let description = [{
    Part of the CUDA lowering, on buffers. GPU threads come from the parallel
    loops that enclose an op's loop nest; a reduction loop outside them (a
    column sum iterates `["reduction", "parallel"]`) would stay on the host
    and launch one kernel per iteration. This pass interchanges every
    structured op's loops (named ops are generalized first) so that parallel
    loops come first, in their original order, and reduction loops run
    inside each thread.

    ```mlir
    linalg.generic {indexing_maps = [(d0, d1) -> (d0, d1), (d0, d1) -> (d1)],
                    iterator_types = ["reduction", "parallel"]} ...
    // becomes
    linalg.generic {indexing_maps = [(d0, d1) -> (d1, d0), (d0, d1) -> (d0)],
                    iterator_types = ["parallel", "reduction"]} ...
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def AMPGPUPromoteAccumulators : Pass<"amp-gpu-promote-accumulators", "::mlir::func::FuncOp"> {
  let summary = "Carry the accumulators of reduction loops in registers";
  let description = [{
    Part of the CUDA lowering, after `convert-linalg-to-parallel-loops`. A
    reduction loop inside a thread (an `scf.for` nested in an `scf.parallel`)
    loads its accumulator from memory and stores it back on every iteration:
    on a GPU, a global-memory round trip per element, and a store that keeps
    LLVM from hoisting loop-invariant loads it cannot prove independent.
    Where the loop body loads and stores one element at loop-invariant
    indices and touches that buffer nowhere else, the element is loaded once
    before the loop, carried as an `iter_arg`, and stored once after it.
    Distinct allocations and distinct function arguments are taken not to
    alias (the runtime passes distinct buffers).

    Loops that carry accumulators are then unrolled by `unroll-factor` where
    it divides their constant trip count (at least twice over): a GPU thread
    issues in order, so one load per iteration would wait out the memory
    latency every time; unrolled, several loads are in flight. The order of
    the accumulation is unchanged.

    ```mlir
    scf.for %j = %c0 to %n step %c1 {
      %acc = memref.load %out[%i] : memref<8xf32>
      %x = memref.load %in[%i, %j] : memref<8x32xf32>
      %s = arith.addf %x, %acc : f32
      memref.store %s, %out[%i] : memref<8xf32>
    }
    // becomes
    %init = memref.load %out[%i] : memref<8xf32>
    %sum = scf.for %j = %c0 to %n step %c1 iter_args(%acc = %init) -> (f32) {
      %x = memref.load %in[%i, %j] : memref<8x32xf32>
      %s = arith.addf %x, %acc : f32
      scf.yield %s : f32
    }
    memref.store %sum, %out[%i] : memref<8xf32>
    ```
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
  let options = [
    Option<"unrollFactor", "unroll-factor", "int64_t", /*default=*/"8",
           "Unroll factor of loops carrying accumulators (1: no unrolling)">,
  ];
  let statistics = [
    Statistic<"numPromoted", "promoted", "Accumulators carried in registers">,
    Statistic<"numUnrolled", "unrolled", "Accumulating loops unrolled">,
  ];
}

def AMPGPUVectorizeLoops : Pass<"amp-gpu-vectorize-loops", "::mlir::func::FuncOp"> {
  let summary = "Give each GPU thread a vector of neighbouring elements, with 16-byte accesses";
  let description = [{
    Part of the CUDA lowering, after `convert-linalg-to-parallel-loops` and
    before thread-block tiling. One element per thread makes a warp move 64
    bytes of bf16 per instruction and spend its time on index arithmetic.
    For an outermost `scf.parallel` whose body is straight-line code (an
    elementwise op: no nested loops), the innermost loop steps by a vector
    width instead: `vector-bytes` divided by the size of the narrowest
    element read or written (8 for bf16 and 16-byte vectors). Loads and
    stores whose last index is the innermost induction variable become
    `vector.load` / `vector.store` with the alignment they are guaranteed;
    loads that do not vary along it (a per-row value, a scalar) stay scalar
    and are broadcast; arithmetic and math on varying values works on
    vectors.

    A loop qualifies when its innermost trip count is a multiple of the
    width, every varying access indexes the innermost dimension by the
    induction variable alone, and the buffers have offset 0, unit innermost
    stride and outer strides that are multiples of the width (rows start
    aligned: the runtime's allocations are 256-byte aligned). Others are
    left as they are. The loop then counts vectors with a unit step (tiling
    and its bound guards see an ordinary loop).

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c8192, %c4096) step (%c1, %c1) {
      %x = memref.load %in[%i, %j] : memref<8192x4096xbf16>
      %e = arith.extf %x : bf16 to f32
      %r = arith.maximumf %e, %zero : f32
      %t = arith.truncf %r : f32 to bf16
      memref.store %t, %out[%i, %j] : memref<8192x4096xbf16>
    }
    // becomes
    scf.parallel (%i, %v) = (%c0, %c0) to (%c8192, %c512) step (%c1, %c1) {
      %j = arith.muli %v, %c8 : index
      %x = vector.load %in[%i, %j] {alignment = 16 : i64} : memref<8192x4096xbf16>, vector<8xbf16>
      %e = arith.extf %x : vector<8xbf16> to vector<8xf32>
      %z = vector.broadcast %zero : f32 to vector<8xf32>
      %r = arith.maximumf %e, %z : vector<8xf32>
      %t = arith.truncf %r : vector<8xf32> to vector<8xbf16>
      vector.store %t, %out[%i, %j] {alignment = 16 : i64} : memref<8192x4096xbf16>, vector<8xbf16>
    }
    ```
  }];
  let dependentDialects = ["::mlir::vector::VectorDialect", "::mlir::arith::ArithDialect"];
  let options = [
    Option<"vectorBytes", "vector-bytes", "int64_t", /*default=*/"16",
           "Bytes per access of the narrowest element type">,
  ];
  let statistics = [
    Statistic<"numVectorized", "vectorized", "Loops vectorized">,
  ];
}

def AMPGPUTileParallelLoops : Pass<"amp-gpu-tile-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Tile host parallel loops into GPU thread blocks of 256, shaped by rank";
  let description = [{
    Part of the CUDA lowering, before `gpu-map-parallel-loops`. Upstream
    `scf-parallel-loop-tiling` applies one list of tile sizes to every loop
    nest, whatever its rank, so 16x16 blocks give 1-D loops 16 threads. This
    pass tiles each outermost `scf.parallel` by its own rank into blocks of
    `block-size` threads: the innermost dimension gets 64 (fewer when it is
    shorter, rounded up to a power of two), the next one the rest of the
    block, outer dimensions 1; 1-D loops get the whole block. With the
    innermost loop on `threadIdx.x`, a warp reads 32 neighbouring elements.
    Tiles that do not divide a bound are guarded inside (no min/max bounds).

    A `cf.assert` directly in a loop body (a bounds check of an embedding
    lookup) becomes `scf.if !cond { cf.assert false }`: upstream's
    `convert-parallel-loops-to-gpu` leaves loops with a bare assert on the
    host but converts it inside an `scf.if`, so without this, whether a
    model compiled depended on whether its tiles divided its shapes.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect", "::mlir::cf::ControlFlowDialect"];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256", "Threads per block">,
  ];
}

def AMPGPUDeviceMemory : Pass<"amp-gpu-device-memory", "::mlir::func::FuncOp"> {
  let summary = "Put the host code's buffers in device memory";
  let description = [{
    Part of the CUDA lowering, once every structured op is a `gpu.launch` (or
    a library call): the host function then only allocates, copies and
    launches, and all of its buffers live on the device.
    - `memref.alloc` / `memref.dealloc` become `gpu.alloc` / `gpu.dealloc`
      (stream-ordered allocations in the runtime);
    - `memref.copy` becomes `gpu.memcpy`;
    - `memref.get_global` (a constant) becomes a device buffer filled from
      the host constant.
    Host code that would read or write a buffer element by element is an
    error naming the op: on the device such code would fault.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def AMPGPUMergeKernelModules : Pass<"amp-gpu-merge-kernel-modules", "::mlir::ModuleOp"> {
  let summary = "Move every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` puts each kernel in its own `gpu.module`, which
    becomes its own binary, loaded by its own module-load call. This pass
    moves all kernels into the first `gpu.module` (renaming on clashes) and
    retargets the `gpu.launch_func` ops: one binary per compiled step, one
    PTX or cubin file to emit and inspect.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def AMPGPUStreamOrder : Pass<"amp-gpu-stream-order", "::mlir::func::FuncOp"> {
  let summary = "Order a host function's GPU work on one stream, synchronizing once";
  let description = [{
    Makes every `gpu.alloc`, `gpu.dealloc`, `gpu.memcpy`, `gpu.memset` and
    `gpu.launch_func` of a function asynchronous, chained on one token from a
    `gpu.wait async` at the entry, and waits for the chain once before each
    return. Unlike upstream `gpu-async-region`, calls between the GPU ops (the
    runtime's GEMMs, which enqueue on the same stream) do not force a host
    synchronization: the step runs without stalls and can be captured as a
    CUDA graph.

    ```mlir
    gpu.launch_func @k::@k0 blocks in (...) threads in (...) args(...)
    gpu.launch_func @k::@k1 blocks in (...) threads in (...) args(...)
    return
    // becomes
    %t0 = gpu.wait async
    %t1 = gpu.launch_func async [%t0] @k::@k0 ...
    %t2 = gpu.launch_func async [%t1] @k::@k1 ...
    gpu.wait [%t2]
    return
    ```

    GPU ops inside host control flow (loops, conditionals) are an error.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

#endif // AMPC_CODEGEN_GPU_PASSES_TD
