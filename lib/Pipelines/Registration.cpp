//===- Registration.cpp - registering ampc's pipelines ----------------------===//

#include "ampc/Pipelines/Pipelines.h"

#include "ampc/Codegen/CPU/Passes.h"
#include "ampc/Codegen/GPU/Passes.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

namespace {
struct CUDAPipelineOptions : public PassPipelineOptions<CUDAPipelineOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("GPU architecture"),
                           llvm::cl::init("sm_90")};
  Option<std::string> features{*this, "features", llvm::cl::desc("PTX ISA features"),
                               llvm::cl::init("+ptx80")};
  Option<bool> libraryGemm{*this, "library-gemm",
                           llvm::cl::desc("Matmul-like ops through cuBLASLt"),
                           llvm::cl::init(true)};
  Option<std::string> format{*this, "format", llvm::cl::desc("isa (PTX), bin or fatbin"),
                             llvm::cl::init("isa")};
  Option<std::string> toolkit{*this, "toolkit", llvm::cl::desc("CUDA toolkit path")};
};

enum class CPUGemm { OneDNN, Native };

struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  Option<CPUGemm> gemm{*this, "gemm", llvm::cl::desc("Matmuls and convolutions"),
                       llvm::cl::init(CPUGemm::OneDNN),
                       llvm::cl::values(clEnumValN(CPUGemm::OneDNN, "onednn",
                                                   "through the oneDNN CPU runtime"),
                                        clEnumValN(CPUGemm::Native, "native",
                                                   "as generated register tiles"))};
  Option<bool> parallel{*this, "parallel",
                        llvm::cl::desc("Split elementwise and reduction loops over cores (OpenMP)"),
                        llvm::cl::init(true)};
  Option<bool> nativeBF16{*this, "native-bf16",
                          llvm::cl::desc("Leave bf16 conversions to LLVM (targets with "
                                         "AVX512-BF16) instead of expanding them"),
                          llvm::cl::init(false)};
  Option<bool> nativeF16Gemm{*this, "native-f16-gemm",
                             llvm::cl::desc("The target has f16 matmul kernels (AVX512-FP16): "
                                            "f16 contractions are not widened to f32"),
                             llvm::cl::init(false)};
};
} // namespace

void ampc::registerPipelines() {
  PassPipelineRegistration<>(
      "amp-ingest",
      "Lower ampc.torch's aten ops and TOSA to linalg/tensor/arith and "
      "canonicalize, so imported models take the same mixed-precision path "
      "as linalg ones",
      buildIngestPipeline);
  PassPipelineRegistration<AMPPipelineOptions>(
      "amp-pipeline",
      "Mixed precision for training steps: verify the contract, autocast, "
      "FP32 master weights, loss scaling and cast cleanup, with one set of options",
      buildAMPPipeline);
  PassPipelineRegistration<CPUPipelineOptions>(
      "amp-lower-to-cpu",
      "Lower a (mixed-precision) module to the LLVM dialect for CPUs, with C "
      "entry points whose results are caller-provided out-params",
      [](OpPassManager &pm, const CPUPipelineOptions &options) {
        CPULoweringOptions lowering;
        lowering.libraryGemm = options.gemm == CPUGemm::OneDNN;
        lowering.parallelLoops = options.parallel;
        lowering.nativeBF16Conversions = options.nativeBF16;
        lowering.nativeF16Gemm = options.nativeF16Gemm;
        buildCPULoweringPipeline(pm, lowering);
      });
  PassPipelineRegistration<CUDAPipelineOptions>(
      "amp-lower-to-cuda",
      "Lower a (mixed-precision) module for NVIDIA GPUs: host code calling the "
      "ampc CUDA runtime (device buffers, cuBLASLt GEMMs, launches on one "
      "stream) and kernels in PTX or cubin",
      [](OpPassManager &pm, const CUDAPipelineOptions &options) {
        CUDALoweringOptions lowering;
        lowering.chip = options.chip;
        lowering.features = options.features;
        lowering.libraryGemm = options.libraryGemm;
        lowering.binaryFormat = options.format;
        lowering.toolkitPath = options.toolkit;
        buildCUDALoweringPipeline(pm, lowering);
      });
}
