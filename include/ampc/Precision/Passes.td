//===- Passes.td - ampc mixed-precision rewrite ------------------*- tablegen -*-===//

#ifndef AMPC_PRECISION_PASSES_TD
#define AMPC_PRECISION_PASSES_TD

include "mlir/Pass/PassBase.td"

def AMPAutocast : Pass<"amp-autocast", "::mlir::ModuleOp"> {
  let summary = "Run policy-selected ops in f16/bf16, inserting amp.cast at "
                "precision boundaries";
  let description = [{
    Classifies every op that computes on f32 data with the precision policy
    (allow / deny / infer / clear, see docs/autocast.md), paints the graph the
    way TensorFlow's AutoMixedPrecision does, and rewrites the painted ops to
    the compute type:

    1. allow ops (matmuls, convolutions) go low; pins (`amp.precision`) are
       obeyed over any list, and a pin on a function or region-holding op
       holds for every op inside (a pin that decides nothing is a warning);
    2. deny ops stay f32, and so do infer/clear ops downstream of them on the
       way to another deny or infer op;
    3. infer/clear ops between low-precision producers and consumers go low;
    4. clear ops next to low-precision ops follow them.

    Casts are `amp.cast`, one per value and target type, placed right after the
    value's definition (so each weight is cast once, shared by all its low
    users). Ops with reduction loops keep their accumulator (`outs`) in
    `accumulate-type`: a low-precision matmul reads f16 inputs and accumulates
    in f32, and its f32 result is cast to its consumer's precision. Low
    elementwise `linalg.generic` ops store in the compute type but run their
    payload in f32 registers (PyTorch's "opmath").

    ```mlir
    %0 = linalg.matmul ins(%a, %w : tensor<8x16xf32>, tensor<16x4xf32>)
                       outs(%acc : tensor<8x4xf32>) -> tensor<8x4xf32>
    // becomes
    %a16 = amp.cast %a : tensor<8x16xf32> to tensor<8x16xf16>
    %w16 = amp.cast %w : tensor<16x4xf32> to tensor<16x4xf16>
    %0 = linalg.matmul ins(%a16, %w16 : tensor<8x16xf16>, tensor<16x4xf16>)
                       outs(%acc : tensor<8x4xf32>) -> tensor<8x4xf32>
    ```

    Ops the policy does not know stay f32 with a remark. With `report=FILE`
    the pass writes a JSON record with, per op, its location, name, class,
    final precision and the rule that decided it.
  }];
  let dependentDialects = ["::ampc::amp::AMPDialect", "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"computeType", "compute-type", "::ampc::amp::Precision",
           /*default=*/"::ampc::amp::Precision::f16",
           "Low precision to compute allow ops in",
           [{::llvm::cl::values(
               clEnumValN(::ampc::amp::Precision::f16, "f16", "IEEE half precision"),
               clEnumValN(::ampc::amp::Precision::f16, "fp16", "alias of f16"),
               clEnumValN(::ampc::amp::Precision::bf16, "bf16", "bfloat16"))}]>,
    Option<"accumulateType", "accumulate-type", "::ampc::amp::Precision",
           /*default=*/"::ampc::amp::Precision::f32",
           "Accumulator precision of low-precision ops with reduction loops "
           "(f32, or the compute type itself)",
           [{::llvm::cl::values(
               clEnumValN(::ampc::amp::Precision::f32, "f32", "single precision"),
               clEnumValN(::ampc::amp::Precision::f32, "fp32", "alias of f32"),
               clEnumValN(::ampc::amp::Precision::f16, "f16", "half precision"),
               clEnumValN(::ampc::amp::Precision::f16, "fp16", "alias of f16"),
               clEnumValN(::ampc::amp::Precision::bf16, "bf16", "bfloat16"))}]>,
    Option<"policyFile", "policy", "std::string", /*default=*/"",
           "Policy file (YAML or JSON) applied on top of the built-in lists">,
    ListOption<"allowAdd", "allow-add", "std::string", "Ops (or globs) to put in the allow list">,
    ListOption<"denyAdd", "deny-add", "std::string", "Ops (or globs) to put in the deny list">,
    ListOption<"inferAdd", "infer-add", "std::string", "Ops (or globs) to put in the infer list">,
    ListOption<"clearAdd", "clear-add", "std::string", "Ops (or globs) to put in the clear list">,
    ListOption<"allowRemove", "allow-remove", "std::string", "Entries to take out of the allow list">,
    ListOption<"denyRemove", "deny-remove", "std::string", "Entries to take out of the deny list">,
    ListOption<"inferRemove", "infer-remove", "std::string", "Entries to take out of the infer list">,
    ListOption<"clearRemove", "clear-remove", "std::string", "Entries to take out of the clear list">,
    Option<"keepIOTypes", "keep-io-types", "bool", /*default=*/"true",
           "Keep function argument and result types f32 (false: arguments "
           "only used in low precision, and low-precision results, change type)">,
    Option<"reportFile", "report", "std::string", /*default=*/"",
           "Write the per-op decision record as JSON to this file">,
  ];
  let statistics = [
    Statistic<"numAllow", "num-allow", "Ops classified allow">,
    Statistic<"numDeny", "num-deny", "Ops classified deny">,
    Statistic<"numInfer", "num-infer", "Ops classified infer">,
    Statistic<"numClear", "num-clear", "Ops classified clear">,
    Statistic<"numUnknown", "num-unknown", "Ops the policy does not know (kept f32)">,
    Statistic<"numLowered", "num-lowered", "Ops rewritten to low precision">,
    Statistic<"numCastsInserted", "num-casts-inserted", "amp.cast ops inserted">,
  ];
}

def AMPCastCleanup : Pass<"amp-cast-cleanup"> {
  let summary = "Fold, deduplicate and hoist compiler-inserted amp.cast ops";
  let description = [{
    Tidies the casts `amp-autocast` (or any amp pass) inserted, never touching
    user casts (`arith.truncf`/`arith.extf`):

    - folds casts of constants into constants of the new type (weights held
      as constants are stored once, in low precision) and erases the f32
      constants left unused;
    - folds exact round trips (`f16 -> f32 -> f16` is the original value) and
      composes casts after exact widenings; lossy round trips (`f32 -> f16 ->
      f32`) are kept;
    - retypes casts of `tensor.empty`;
    - merges casts of one value to one type into a single cast placed right
      after the value's definition, so no value is cast twice to the same type.

    ```mlir
    %h = amp.cast %x : tensor<4xf16> to tensor<4xf32>
    %y = amp.cast %h : tensor<4xf32> to tensor<4xf16>   // folds to %x
    ```
  }];
  let dependentDialects = ["::ampc::amp::AMPDialect", "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let statistics = [
    Statistic<"numFolded", "num-folded", "amp.cast ops folded or canonicalized away">,
    Statistic<"numMerged", "num-merged", "Duplicate amp.cast ops merged">,
  ];
}

def AMPPropagatePins : Pass<"amp-propagate-pins", "::mlir::ModuleOp"> {
  let summary = "Copy function and region pins onto the ops inside them";
  let description = [{
    A pin (`amp.precision`) on a `func.func` or a region-holding op holds for
    every op inside it (docs/autocast.md). Passes that move ops out of their
    function or region lose such a pin: `inline` copies a pinned callee's
    ops into its caller, canonicalization folds a single-block
    `scf.execute_region` away. This pass gives each op inside that computes
    on f32 values (has an f32 operand and result, what autocast decides) the
    pin it inherits, unless it has its own, and drops the outer pin once it
    has been handed on. Linalg payloads go with their linalg op. `ampc
    --train` runs it before inlining.

    ```mlir
    func.func private @head(...) attributes {amp.precision = "f32"} {
      %m = linalg.matmul ins(...)
    // becomes
    func.func private @head(...) {
      %m = linalg.matmul {amp.precision = "f32"} ins(...)
    ```
  }];
}

def AMPCheckPrecision : Pass<"amp-check-precision"> {
  let summary = "Check the guarantees of a mixed-precision graph";
  let description = [{
    Fails with a located error for every op that breaks what `amp-autocast`
    promises. Ops are classified by the same precision policy autocast
    paints with (the built-in defaults, plus `policy=FILE` when given), so
    the two cannot disagree about what an op is:

    - every op the policy classifies `allow` (contractions and convolutions,
      named or generic, and sums of products such as convolution adjoints)
      reads `compute-type` inputs, unless pinned to f32;
    - every other op: a reduction that adds or multiplies, and any op whose
      payload computes `math.exp`/`math.log`, computes in f32 (f32 payload
      values and accumulator). Pooling is not matmul-like: sum pooling is
      `infer` and accumulates in f32, max/min pooling is `clear`.

    Used to check real model IR after autocast, and by users to check their
    own pipelines.
  }];
  let options = [
    Option<"computeType", "compute-type", "::ampc::amp::Precision",
           /*default=*/"::ampc::amp::Precision::f16",
           "Precision matmul-like ops must read",
           [{::llvm::cl::values(
               clEnumValN(::ampc::amp::Precision::f16, "f16", "IEEE half precision"),
               clEnumValN(::ampc::amp::Precision::f16, "fp16", "alias of f16"),
               clEnumValN(::ampc::amp::Precision::bf16, "bf16", "bfloat16"))}]>,
    Option<"policyFile", "policy", "std::string", /*default=*/"",
           "Policy file (YAML or JSON) applied on top of the built-in lists, "
           "as given to amp-autocast">,
  ];
  let statistics = [
    Statistic<"numChecked", "num-checked", "Ops checked">,
  ];
}

#endif // AMPC_PRECISION_PASSES_TD
