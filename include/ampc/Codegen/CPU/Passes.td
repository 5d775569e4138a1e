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

    With `keep-library-gemms` (the default CPU lowering, `cpu-gemm=onednn`)
    matmuls on f32/f16/bf16 are left alone for `amp-cpu-library-gemm`; this
    pass then only decomposes softmax. `--cpu-gemm=native` keeps this path
    for every matmul: the generated reference, which needs no runtime.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
                           "::mlir::transform::TransformDialect"];
  let options = [
    ListOption<"tileSizes", "tile-sizes", "int64_t", "M, N, K tile sizes (default 8,32,1)">,
    Option<"keepLibraryGemms", "keep-library-gemms", "bool", "false",
           "Leave f32/f16/bf16 matmuls for amp-cpu-library-gemm (only decompose softmax)">,
  ];
}

def AMPCPULibraryGemm : Pass<"amp-cpu-library-gemm", "::mlir::ModuleOp"> {
  let summary = "Route matmul-like ops and 2-D convolutions on buffers to the oneDNN runtime";
  let description = [{
    Part of the CPU lowering (`cpu-gemm=onednn`, the default), after
    bufferization. The CPU twin of `amp-gpu-library-gemm`: calls into
    `runtime/cpu` (`ampc_cpu_runtime.h`), which runs oneDNN. oneDNN picks
    AMX, AVX512-BF16, AVX512-FP16, AVX-512 or AVX2 kernels for the CPU the
    library runs on, so one artifact runs at each machine's speed; every
    call accumulates in f32.

    **GEMMs.** Runs of consecutive loops of one kind that every operand
    reads together, in order, on identity-layout buffers are merged first
    (a linear layer over (batch, tokens, features) whose reshape was folded
    into the contraction has two M loops: one, of their product, after).
    Every contraction with one M, one N, one K and at most one
    batch dimension (`linalg.matmul` and its transposed forms,
    `linalg.batch_matmul`, equivalent `linalg.generic`s) whose payload is
    `out + a * b` (inputs possibly extended to the accumulator's type), on
    f32/f16/bf16 buffers with unit inner stride, becomes a call to
    `ampc_cpu_gemm`. Folded in, as in `amp-gpu-library-gemm`: a zero fill
    of the output (`beta = 0`), a transpose that only feeds the GEMM (a
    transposed operand), a bias addition along N (oneDNN's bias, added to
    the f32 accumulator), a ReLU after it (`arith.maximumf` with zero: an
    eltwise post-op), and readers that all round the result to the input
    type (oneDNN writes that type). Unlike the GPU pass, f32 GEMMs fold their
    bias and ReLU too.

    **Convolutions.** A structured op with two inputs and an `out + a * b`
    payload whose indexing maps read one input at windows
    `o * stride + k * dilation` in two dimensions is a 2-D convolution, in
    any layout (NCHW/FCHW, NHWC/HWCF, depthwise, grouped): the image x is the
    input with the windows, the kernel w holds the window offsets and the
    output channels, the output y the window positions. The op's output is
    y (forward) or w (the weights' gradient); both become
    `ampc_cpu_conv2d` calls, with strides per logical dimension so that no
    operand is copied into another layout by the compiled code. Also
    recognised:
    - an image that is a zero-padded copy (a zero fill and a copy into an
      interior view) is read in place with the copy's offsets as padding;
      the copy goes when nothing else reads it;
    - a stride-1 forward over an output gradient spread out by the stride
      (a zero fill and a strided copy), with the kernel flipped (a generic
      reading `w[KH-1-i, KW-1-j]`), is the input gradient that
      `amp-differentiate` builds: it becomes oneDNN's backward-data
      convolution of the unspread gradient, doing a stride-squared less
      work;
    - a zero fill of the output is `beta = 0`; an f32 result that every
      reader rounds to the input type is written in that type.

    Anything else stays a structured op and lowers to loops.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
  let options = [
    Option<"convolutions", "convolutions", "bool", "true",
           "Route 2-D convolutions to oneDNN too (false: GEMMs only)">,
  ];
  let statistics = [
    Statistic<"numGemms", "gemms", "Contractions routed to oneDNN">,
    Statistic<"numConvolutions", "convolutions", "Convolutions routed to oneDNN">,
    Statistic<"numBackwardData", "backward-data", "Input-gradient convolutions (flipped kernel) run as backward data">,
    Statistic<"numBackwardWeights", "backward-weights", "Convolutions run as backward weights">,
    Statistic<"numFoldedFills", "folded-fills", "Zero fills folded into beta = 0">,
    Statistic<"numFoldedTransposes", "folded-transposes", "Transposes folded into GEMM operands">,
    Statistic<"numFoldedPadding", "folded-padding", "Zero-padded copies read in place">,
    Statistic<"numBiasEpilogues", "bias-epilogues", "Bias additions folded into GEMMs">,
    Statistic<"numReluEpilogues", "relu-epilogues", "ReLUs folded into GEMMs">,
    Statistic<"numNarrowedResults", "narrowed-results",
              "Results written in the type every reader rounds to">,
  ];
}

def AMPCPUParallelLoops : Pass<"amp-cpu-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Keep only the outermost scf.parallel loops worth splitting over cores";
  let description = [{
    Part of the CPU lowering, between `convert-linalg-to-parallel-loops` and
    upstream `convert-scf-to-openmp`. An `scf.parallel` stays parallel (and
    becomes an OpenMP work-sharing loop over all of its dimensions) when no
    loop encloses it and its iteration space, times the iterations of the
    loops inside it, is at least `min-iterations`. Every other one becomes
    nested `scf.for` loops: a thread team forked in every iteration of an
    outer loop (a reduction over the batch with a parallel inner dimension)
    or for a few hundred elements costs more than it saves.

    The threads are those of LLVM's OpenMP runtime (libomp), which oneDNN
    shares in the libraries ampc links (in a process where PyTorch loaded
    oneDNN first, only when `ampc.torch` was imported before torch:
    docs/torch.md); `ampc --threads=N` and the Python loader's
    `set_threads` set how many.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
  let options = [
    Option<"minIterations", "min-iterations", "int64_t", "32768",
           "Iterations (with those of inner loops) a loop needs to run in parallel">,
  ];
  let statistics = [
    Statistic<"numParallel", "parallel", "Loops left parallel">,
    Statistic<"numSerial", "serial", "Loops made sequential">,
  ];
}

def AMPCPUCollapseInnerDims : Pass<"amp-cpu-collapse-inner-dims", "::mlir::func::FuncOp"> {
  let summary = "Merge short innermost loop dimensions of structured ops on contiguous buffers";
  let description = [{
    Part of the CPU lowering, on buffers, right before
    `convert-linalg-to-parallel-loops`. A `linalg.generic` whose innermost
    loop is short (a 3x3 convolution weight, a 1x1 feature map) lowers to a
    nest whose inner loops LLVM unrolls, and its vectorizer then runs along
    the next loop out with a stride, as gathers: the SGD update of a
    `512x512x3x3` weight read every element with `vgatherqps`. This pass
    merges the innermost dimensions into one while that dimension has
    fewer than `min-inner` iterations, so the innermost loop walks
    contiguous memory (`512x512x3x3` becomes `512x4608`; `16x64x32x32`
    becomes `16x64x1024`). The outer dimensions stay, for
    `amp-cpu-parallel-loops` to split over the cores.

    Dimensions merge only where every operand is a buffer with the identity
    layout, every indexing map is a projected permutation in which the
    merged dimensions appear together and in order (or not at all, as in a
    per-channel broadcast), the merged loops are all parallel or all
    reductions, and the payload reads no loop index (`linalg.index`:
    rebuilding it would cost a division per element). The operands are
    reshaped with `memref.collapse_shape`: no data moves.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::linalg::LinalgDialect"];
  let options = [
    Option<"minInner", "min-inner", "int64_t", "64",
           "Iterations the innermost loop should reach before merging stops">,
  ];
  let statistics = [
    Statistic<"numCollapsed", "collapsed", "Structured ops given fewer, longer loops">,
  ];
}

def AMPCPUContract : Pass<"amp-cpu-contract", "::mlir::func::FuncOp"> {
  let summary = "Allow FMA in the multiply-adds of contractions and reductions";
  let description = [{
    Part of the CPU lowering, on tensors. Sets the `contract` fast-math flag
    on the `arith.mulf`, `arith.addf` and `arith.subf` in the payload of
    every structured op with a reduction loop (matmuls, convolutions left to
    generated code, sums, the loss), so that LLVM fuses each multiply and
    add into one FMA instruction (one rounding instead of two: as accurate
    or more). An `arith.addf`/`arith.subf` fed by such a multiply (and its
    only user) gets the flag too, which covers the adds that vector
    lowerings build later around the multiplies of a vectorized matmul tile:
    the pipeline runs this pass once on tensors and once on loops.
    Elementwise payloads keep their flags.
  }];
  let statistics = [
    Statistic<"numContracted", "contracted", "Payload ops allowed to fuse">,
  ];
}

def AMPCPUWidenF16 : Pass<"amp-cpu-widen-f16", "::mlir::func::FuncOp"> {
  let summary = "Feed f16 contractions and convolutions f32 copies (CPUs without f16 kernels)";
  let description = [{
    Part of the CPU lowering (`cpu-gemm=onednn`) for targets without
    AVX512-FP16, on tensors. A contraction or convolution (reduction loops,
    an `out + a * b` payload) with f16 inputs and an f32 accumulator reads
    f32 copies of its inputs instead: every f16 value is exactly an f32
    value, so the result is the one f16 inputs with f32 accumulation give,
    and oneDNN runs its f32 kernels on them directly instead of converting
    both operands at every call. Each f16 value gets one copy however many
    contractions read it, and the copy fuses into the value's producer where
    that is its only reader (the cast of a master weight then writes the
    f16-rounded weight in f32). Elementwise readers that only extend the f16
    value to f32 in their payload (a ReLU backward's mask) read the copy
    too, so that an f16 activation is stored once, in f32, and never in
    f16. Named ops become `linalg.generic`s, which `amp-cpu-library-gemm`
    recognises as well.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let statistics = [
    Statistic<"numWidened", "widened", "Contractions and convolutions given f32 inputs">,
  ];
}

//===----------------------------------------------------------------------===//
// C entry points
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

def AMPCPUOutlineKernels : Pass<"amp-cpu-outline-kernels", "::mlir::ModuleOp"> {
  let summary = "Give each loop nest of a lowered step its own function, and share identical ones";
  let description = [{
    Part of the CPU lowering, on buffers, once the loop nests exist (after
    `convert-scf-to-openmp`): every top-level loop nest of a public
    function (`scf.for`, `scf.parallel`, `omp.parallel`) moves into a
    private function of its own (`<function>_kernel<N>`), called in its
    place, with the buffers and scalars it reads as arguments and the
    constants it uses cloned in. LLVM then optimizes and generates code for
    many small functions instead of one huge one, which is what makes a
    step of a real model slow to compile (its time grows faster than its
    size). Kernels with the same body and signature, which models repeat
    block after block, are then merged by upstream's
    `duplicate-function-elimination` (the CPU pipeline runs it next), so
    they compile once.

    Kernels have internal linkage and LLVM's `noinline`, so LLVM keeps them
    apart from their callers.

    ```mlir
    scf.for %i = %c0 to %c8 step %c1 { ... memref.store %v, %buf[%i] ... }
    // becomes
    func.call @step_kernel0(%buf) : (memref<8xf32>) -> ()
    func.func private @step_kernel0(%arg0: memref<8xf32>)
        attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]} {
      scf.for ... { ... }
      return
    }
    ```
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::LLVM::LLVMDialect"];
  let options = [
    Option<"minOps", "min-ops", "unsigned", "1",
           "Outline a loop nest with at least this many operations (smaller ones stay inline)">,
  ];
  let statistics = [
    Statistic<"numKernels", "kernels", "Loop nests outlined">,
  ];
}

def AMPCPUProfilePoints : Pass<"amp-cpu-profile-points", "::mlir::ModuleOp"> {
  let summary = "Time every kernel and runtime call of a step, when the profiler is on";
  let description = [{
    Part of the CPU lowering, after `amp-cpu-outline-kernels`: in every
    public function, each call of a kernel (`ampc.kernel`) or of the CPU
    runtime (`ampc_cpu_*`: oneDNN GEMMs and convolutions) is surrounded by
    `ampc_profile_begin` / `ampc_profile_end(id, start)` of the support
    library every CPU library links (runtime/cpu/ampc_cpu_support.h). Off,
    which is the default, each point costs those two calls, which test a
    flag and return (small next to the kernel or oneDNN call they
    surround); on (`ampc_profile_enable(1)`, Python's `mod.profile()`), the
    library adds up the time and calls per point.

    Only calls at the top level of public functions are timed (where the
    CPU lowering puts every kernel and runtime call); a module that already
    has `ampc.profile_points` is left as it is.

    The points are listed, by id, in the module attribute
    `ampc.profile_points` (for the manifest): the function, the callee,
    what it computes (the kernel's op, or the runtime routine), the model
    source line and module path of the op it came from, and whether it is
    part of the backward.

    ```mlir
    call @step_kernel3(%a, %b) : (memref<8xf32>, memref<8xf32>) -> ()
    // becomes
    %t = call @ampc_profile_begin() : () -> i64
    call @step_kernel3(%a, %b) : (memref<8xf32>, memref<8xf32>) -> ()
    %id = arith.constant 3 : i64
    call @ampc_profile_end(%id, %t) : (i64, i64) -> ()
    ```
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::arith::ArithDialect"];
  let statistics = [
    Statistic<"numPoints", "points", "Calls timed">,
  ];
}

def AMPCPUCollectivesToMPI : Pass<"amp-cpu-collectives-to-mpi", "::mlir::ModuleOp"> {
  let summary = "Turn amp.all_reduce_in_place buckets into MPI_Allreduce calls (mpi dialect)";
  let description = [{
    Runs late in the CPU pipeline, after buffer deallocation and
    `amp-free-after-last-use` (the upstream MPI ops declare no memory
    effects, which those passes cannot reason about): every
    `amp.all_reduce_in_place`
    becomes `mpi.allreduce` with the same buffer as send and receive buffer
    (MPI_IN_PLACE) on `mpi.comm_world`, which the upstream MPI-to-LLVM
    patterns then lower to an `MPI_Allreduce` call. For OpenMPI the pass
    also renames the reduction-op globals MLIR 22 gets wrong
    (`ompi_mpi_sum` -> `ompi_mpi_op_sum`, as in OpenMPI's mpi.h).

    ```mlir
    amp.all_reduce_in_place sum %b : memref<1152xf32>
    // becomes
    %comm = mpi.comm_world : !mpi.comm
    mpi.allreduce(%b, %b, MPI_SUM, %comm) : memref<1152xf32>, memref<1152xf32>
    ```

    The module must say which MPI ABI to call
    (`dlti.map = #dlti.map<"MPI:Implementation" = "OpenMPI">`, set by
    `amp-data-parallel`): the upstream lowering would otherwise assume
    MPICH's, which crashes under Debian's OpenMPI.
  }];
  let dependentDialects = ["::mlir::mpi::MPIDialect", "::mlir::LLVM::LLVMDialect"];
  let statistics = [
    Statistic<"numCalls", "calls", "mpi.allreduce calls made">,
  ];
}

#endif // AMPC_CODEGEN_CPU_PASSES_TD
