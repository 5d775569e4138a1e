//===- ATenDialect.td - the aten frontend dialect ----------*- tablegen -*-===//

#ifndef AMPC_DIALECT_ATEN_IR_ATENDIALECT_TD
#define AMPC_DIALECT_ATEN_IR_ATENDIALECT_TD

include "mlir/IR/OpBase.td"

def ATen_Dialect : Dialect {
  let name = "aten";
  let cppNamespace = "::ampc::aten";
  let summary = "PyTorch ATen operators as ampc.torch imports them";
  let description = [{
    The `aten` dialect is the landing place of `ampc.torch`: a PyTorch
    module traced with `make_fx` is a graph of ATen operators, and the
    importer writes each one as the `aten` op of the same name, with the
    model's source line as its location. `convert-aten-to-linalg` then
    lowers every op to linalg, tensor, arith and math, where ampc's
    passes (amp-differentiate, amp-autocast, ...) work.

    The ops are value-semantic: tensors are static-shaped builtin tensors
    (f32 data, i64 indices, i1 masks), ATen's in-place variants arrive as
    their functional forms, and non-tensor arguments (strides, dims,
    epsilons) are attributes. Each op documents the ATen overload it
    models; semantics follow PyTorch 1.13's CPU kernels. Only the ops
    ampc.torch imports are here (in the spirit of torch-mlir's `torch`
    dialect, much smaller).

    ```mlir
    %y = aten.convolution %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>,
           dilation = array<i64: 1, 1>, groups = 1 : i64}
         : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32> loc("model.py":12:0)
    ```
  }];
}

class ATen_Op<string mnemonic, list<Trait> traits = []>
    : Op<ATen_Dialect, mnemonic, traits>;

#endif // AMPC_DIALECT_ATEN_IR_ATENDIALECT_TD
