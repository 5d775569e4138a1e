//===- CpuRuntime.cpp - GEMMs and convolutions on oneDNN ------------------===//
//
// See ampc_cpu_runtime.h. One engine and stream per process; primitives are
// cached by everything that shapes them. Operands are read and written in
// place through strided memory descriptors; where oneDNN picks a blocked
// layout for a convolution, reorders (cached too) move data in and out.
//
//===----------------------------------------------------------------------===//

#include "ampc_cpu_runtime.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace {

using dnnl::memory;
using Dims = memory::dims;

enum Stat { Calls, Converted, Reference, Created, Reused, NumStats };

struct Runtime {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::mutex mutex;
  std::atomic<int64_t> stats[NumStats] = {};
};

Runtime &runtime() {
  static Runtime instance;
  return instance;
}

void count(Stat stat) { runtime().stats[stat].fetch_add(1, std::memory_order_relaxed); }

memory::data_type dataType(int32_t code) {
  switch (code) {
  case AMPC_CPU_F16:
    return memory::data_type::f16;
  case AMPC_CPU_BF16:
    return memory::data_type::bf16;
  default:
    return memory::data_type::f32;
  }
}

size_t elementBytes(int32_t code) { return code == AMPC_CPU_F32 ? 4 : 2; }

//===----------------------------------------------------------------------===//
// Scalar conversions (the fallback paths only)
//===----------------------------------------------------------------------===//

float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else { // subnormal: normalize
      int shift = 0;
      while (!(mantissa & 0x400)) {
        mantissa <<= 1;
        ++shift;
      }
      mantissa &= 0x3ff;
      bits = sign | ((uint32_t)(113 - shift) << 23) | (mantissa << 13);
    }
  } else {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToHalf(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  uint32_t sign = (bits >> 16) & 0x8000u;
  uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) // NaN
    return (uint16_t)(sign | 0x7e00u);
  if (magnitude >= 0x477ff000u) // rounds to infinity
    return (uint16_t)(sign | 0x7c00u);
  if (magnitude < 0x38800000u) { // subnormal or zero
    float scaled;
    uint32_t m = magnitude;
    std::memcpy(&scaled, &m, 4);
    scaled *= 16777216.0f; // 2^24: half subnormals become integers
    return (uint16_t)(sign | (uint32_t)std::nearbyint(scaled));
  }
  uint32_t rounded = magnitude + 0xfffu + ((magnitude >> 13) & 1u) - (112u << 23);
  return (uint16_t)(sign | (rounded >> 13));
}

float bf16ToFloat(uint16_t b) {
  uint32_t bits = (uint32_t)b << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t)((bits >> 16) | 0x40u);
  return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

float load(const void *base, int32_t type, int64_t index) {
  switch (type) {
  case AMPC_CPU_F16:
    return halfToFloat(static_cast<const uint16_t *>(base)[index]);
  case AMPC_CPU_BF16:
    return bf16ToFloat(static_cast<const uint16_t *>(base)[index]);
  default:
    return static_cast<const float *>(base)[index];
  }
}

void store(void *base, int32_t type, int64_t index, float value) {
  switch (type) {
  case AMPC_CPU_F16:
    static_cast<uint16_t *>(base)[index] = floatToHalf(value);
    break;
  case AMPC_CPU_BF16:
    static_cast<uint16_t *>(base)[index] = floatToBf16(value);
    break;
  default:
    static_cast<float *>(base)[index] = value;
  }
}

/// A strided view: element (i0, i1, ...) at sum(i_d * stride_d).
struct View {
  const void *data;
  int32_t type;
  std::vector<int64_t> sizes, strides;

  int64_t elements() const {
    int64_t n = 1;
    for (int64_t s : sizes)
      n *= s;
    return n;
  }
  /// Dense (row-major) strides of the same sizes.
  std::vector<int64_t> denseStrides() const {
    std::vector<int64_t> dense(sizes.size(), 1);
    for (int d = (int)sizes.size() - 2; d >= 0; --d)
      dense[d] = dense[d + 1] * sizes[d + 1];
    return dense;
  }
  /// Whether the view covers a dense block of elements() elements in some
  /// order of its dimensions (a transposed matrix, an NHWC tensor).
  bool isDensePermutation() const {
    std::vector<size_t> order;
    for (size_t d = 0; d < sizes.size(); ++d)
      if (sizes[d] != 1)
        order.push_back(d);
    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return strides[x] < strides[y]; });
    int64_t expected = 1;
    for (size_t d : order) {
      if (strides[d] != expected)
        return false;
      expected *= sizes[d];
    }
    return true;
  }
  /// The strides of a converted copy: the view's own where it is a dense
  /// block (converted linearly), else dense row-major ones.
  std::vector<int64_t> copyStrides() const {
    return isDensePermutation() ? strides : denseStrides();
  }
  /// Calls f(offset in this view, linear index in row-major order).
  template <typename F> void forEach(F &&f) const {
    std::vector<int64_t> index(sizes.size(), 0);
    int64_t total = elements();
    for (int64_t linear = 0; linear < total; ++linear) {
      int64_t offset = 0;
      for (size_t d = 0; d < sizes.size(); ++d)
        offset += index[d] * strides[d];
      f(offset, linear);
      for (int d = (int)sizes.size() - 1; d >= 0; --d) {
        if (++index[d] < sizes[d])
          break;
        index[d] = 0;
      }
    }
  }
};

//===----------------------------------------------------------------------===//
// Row conversions of the converted paths (f16 on CPUs whose oneDNN has no
// f16 kernels): F16C where the CPU has it, at memory speed.
//===----------------------------------------------------------------------===//

#if defined(__x86_64__)
__attribute__((target("avx2,f16c"))) void halfRowToF32F16C(const uint16_t *in, float *out,
                                                            int64_t count) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i))));
  for (; i < count; ++i)
    out[i] = halfToFloat(in[i]);
}

__attribute__((target("avx2,f16c"))) void f32RowToHalfF16C(const float *in, uint16_t *out,
                                                            int64_t count) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8)
    _mm_storeu_si128((__m128i *)(out + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < count; ++i)
    out[i] = floatToHalf(in[i]);
}

bool hasF16C() {
  static const bool has = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx2");
  return has;
}
#else
bool hasF16C() { return false; }
void halfRowToF32F16C(const uint16_t *, float *, int64_t) {}
void f32RowToHalfF16C(const float *, uint16_t *, int64_t) {}
#endif

/// `count` contiguous elements of `type` at `in` as f32 at `out`.
void rowToF32(const void *in, int32_t type, float *out, int64_t count) {
  if (type == AMPC_CPU_F32) {
    std::memcpy(out, in, count * sizeof(float));
  } else if (type == AMPC_CPU_F16 && hasF16C()) {
    halfRowToF32F16C(static_cast<const uint16_t *>(in), out, count);
  } else {
    for (int64_t i = 0; i < count; ++i)
      out[i] = load(in, type, i);
  }
}

/// `count` f32 at `in` stored as `type` at `out` (beta 1: added to it).
void rowFromF32(const float *in, void *out, int32_t type, int64_t count, float beta) {
  if (beta == 0.0f && type == AMPC_CPU_F32) {
    std::memcpy(out, in, count * sizeof(float));
  } else if (beta == 0.0f && type == AMPC_CPU_F16 && hasF16C()) {
    f32RowToHalfF16C(in, static_cast<uint16_t *>(out), count);
  } else {
    for (int64_t i = 0; i < count; ++i)
      store(out, type, i, beta != 0.0f ? in[i] + load(out, type, i) : in[i]);
  }
}

/// Calls f(offset of a row in `view`, its linear index) for every row of
/// `view` whose innermost dimension is contiguous, in parallel; nothing
/// (false) for other views.
template <typename F> bool forEachRow(const View &view, F &&f) {
  if (view.sizes.empty() || view.strides.back() != 1)
    return false;
  int64_t inner = view.sizes.back(), rows = view.elements() / std::max<int64_t>(inner, 1);
  size_t rank = view.sizes.size();
#pragma omp parallel for schedule(static) if (rows * inner > (1 << 16))
  for (int64_t row = 0; row < rows; ++row) {
    int64_t offset = 0, rest = row;
    for (int d = (int)rank - 2; d >= 0; --d) {
      offset += (rest % view.sizes[d]) * view.strides[d];
      rest /= view.sizes[d];
    }
    f(offset, row * inner, inner);
  }
  return true;
}

/// Calls f(first element, count) over `total` elements in parallel chunks.
template <typename F> void forEachChunk(int64_t total, F &&f) {
  constexpr int64_t kChunk = 1 << 14;
  int64_t chunks = (total + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (total > (1 << 16))
  for (int64_t chunk = 0; chunk < chunks; ++chunk)
    f(chunk * kChunk, std::min(kChunk, total - chunk * kChunk));
}

/// Grow-only scratch buffers of the calling thread, so that converted
/// copies are not faulted in again every call.
float *scratch(int slot, int64_t elements) {
  thread_local std::vector<float> buffers[4];
  std::vector<float> &buffer = buffers[slot];
  if ((int64_t)buffer.size() < elements)
    buffer.resize(elements);
  return buffer.data();
}

/// Writes an f32 copy of `view`, laid out with view.copyStrides(), to `out`.
void toF32(const View &view, float *out) {
  size_t bytes = elementBytes(view.type);
  if (view.isDensePermutation()) {
    forEachChunk(view.elements(), [&](int64_t first, int64_t count) {
      rowToF32(static_cast<const char *>(view.data) + first * bytes, view.type, out + first,
               count);
    });
    return;
  }
  if (forEachRow(view, [&](int64_t offset, int64_t linear, int64_t count) {
        rowToF32(static_cast<const char *>(view.data) + offset * bytes, view.type, out + linear,
                 count);
      }))
    return;
  view.forEach([&](int64_t offset, int64_t linear) { out[linear] = load(view.data, view.type, offset); });
}

/// An f32 copy of `view` in scratch slot `slot`.
float *toF32(const View &view, int slot) {
  float *out = scratch(slot, view.elements());
  toF32(view, out);
  return out;
}

/// Writes f32 `values`, laid out with view.copyStrides(), into `view`
/// (beta 1: adds to what is there).
void fromF32(const float *values, const View &view, float beta) {
  void *data = const_cast<void *>(view.data);
  size_t bytes = elementBytes(view.type);
  if (view.isDensePermutation()) {
    forEachChunk(view.elements(), [&](int64_t first, int64_t count) {
      rowFromF32(values + first, static_cast<char *>(data) + first * bytes, view.type, count,
                 beta);
    });
    return;
  }
  if (forEachRow(view, [&](int64_t offset, int64_t linear, int64_t count) {
        rowFromF32(values + linear, static_cast<char *>(data) + offset * bytes, view.type, count,
                   beta);
      }))
    return;
  view.forEach([&](int64_t offset, int64_t linear) {
    float value = values[linear];
    if (beta != 0.0f)
      value += load(data, view.type, offset);
    store(data, view.type, offset, value);
  });
}

memory::desc describe(const View &view, memory::data_type type) {
  return memory::desc(Dims(view.sizes.begin(), view.sizes.end()), type,
                      Dims(view.strides.begin(), view.strides.end()));
}

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

struct Gemm {
  int32_t typeA, typeB, typeC;
  View a, b, c;             ///< batch x M x K, batch x K x N, batch x M x N
  float beta;
  const void *bias;
  int32_t biasType;
  int32_t postOp;
  int64_t n;
};

/// The primitive for `g` with the given element types (cached by shape).
struct GemmPrimitive {
  dnnl::matmul primitive;
  bool valid = false;
};

std::map<std::vector<int64_t>, GemmPrimitive> gemmCache;

/// Everything the primitive for `g` run on the views a, b, c depends on.
std::vector<int64_t> gemmKey(const Gemm &g, int32_t ta, int32_t tb, int32_t tc, const View &a,
                             const View &b, const View &c) {
  // oneDNN shapes a primitive for the thread count at its creation; one
  // made for 1 thread would run on one after set_threads(2).
  std::vector<int64_t> key = {omp_get_max_threads(), ta, tb, tc, (int64_t)(g.beta != 0.0f),
                              g.bias != nullptr, g.biasType, g.postOp};
  for (const View *v : {&a, &b, &c}) {
    key.insert(key.end(), v->sizes.begin(), v->sizes.end());
    key.insert(key.end(), v->strides.begin(), v->strides.end());
  }
  return key;
}

const GemmPrimitive &gemmPrimitive(const Gemm &g, int32_t ta, int32_t tb, int32_t tc,
                                   const View &a, const View &b, const View &c) {
  Runtime &rt = runtime();
  std::vector<int64_t> key = gemmKey(g, ta, tb, tc, a, b, c);
  {
    std::lock_guard<std::mutex> lock(rt.mutex);
    auto it = gemmCache.find(key);
    if (it != gemmCache.end()) {
      count(Reused);
      return it->second;
    }
  }
  GemmPrimitive entry;
  try {
    memory::desc biasDesc;
    if (g.bias)
      biasDesc = memory::desc({1, 1, g.n}, dataType(g.biasType), memory::format_tag::abc);
    dnnl::post_ops ops;
    if (g.beta != 0.0f)
      ops.append_sum(1.0f);
    if (g.postOp == AMPC_CPU_POST_RELU)
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    dnnl::matmul::desc desc(describe(a, dataType(ta)), describe(b, dataType(tb)), biasDesc,
                            describe(c, dataType(tc)));
    entry.primitive = dnnl::matmul(dnnl::matmul::primitive_desc(desc, attr, rt.engine));
    entry.valid = true;
    count(Created);
  } catch (const dnnl::error &) {
    entry.valid = false;
  }
  std::lock_guard<std::mutex> lock(rt.mutex);
  return gemmCache.emplace(std::move(key), std::move(entry)).first->second;
}

void runGemm(const GemmPrimitive &p, const void *a, const void *b, const void *c, const void *bias,
             const Gemm &g, int32_t ta, int32_t tb, int32_t tc, const View &va, const View &vb,
             const View &vc) {
  Runtime &rt = runtime();
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, memory(describe(va, dataType(ta)), rt.engine, const_cast<void *>(a))},
      {DNNL_ARG_WEIGHTS, memory(describe(vb, dataType(tb)), rt.engine, const_cast<void *>(b))},
      {DNNL_ARG_DST, memory(describe(vc, dataType(tc)), rt.engine, const_cast<void *>(c))}};
  if (bias)
    args.emplace(DNNL_ARG_BIAS, memory(memory::desc({1, 1, g.n}, dataType(g.biasType),
                                                    memory::format_tag::abc),
                                       rt.engine, const_cast<void *>(bias)));
  p.primitive.execute(rt.stream, args);
  rt.stream.wait();
}

void referenceGemm(const Gemm &g) {
  int64_t batch = g.c.sizes[0], m = g.c.sizes[1], n = g.c.sizes[2], k = g.a.sizes[2];
  void *c = const_cast<void *>(g.c.data);
  for (int64_t bi = 0; bi < batch; ++bi)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float sum = 0.0f;
        for (int64_t l = 0; l < k; ++l)
          sum += load(g.a.data, g.typeA, bi * g.a.strides[0] + i * g.a.strides[1] + l * g.a.strides[2]) *
                 load(g.b.data, g.typeB, bi * g.b.strides[0] + l * g.b.strides[1] + j * g.b.strides[2]);
        int64_t at = bi * g.c.strides[0] + i * g.c.strides[1] + j * g.c.strides[2];
        if (g.beta != 0.0f)
          sum += load(c, g.typeC, at);
        if (g.bias)
          sum += load(g.bias, g.biasType, j);
        if (g.postOp == AMPC_CPU_POST_RELU)
          sum = std::max(sum, 0.0f);
        store(c, g.typeC, at, sum);
      }
}

void gemm(const Gemm &g) {
  count(Calls);
  const GemmPrimitive &native = gemmPrimitive(g, g.typeA, g.typeB, g.typeC, g.a, g.b, g.c);
  if (native.valid) {
    runGemm(native, g.a.data, g.b.data, g.c.data, g.bias, g, g.typeA, g.typeB, g.typeC, g.a, g.b, g.c);
    return;
  }
  // This CPU has no kernel for the low-precision types (bf16 without
  // AVX-512, f16 without AVX512-FP16): an f32 GEMM on converted copies.
  View a{nullptr, AMPC_CPU_F32, g.a.sizes, g.a.copyStrides()};
  View b{nullptr, AMPC_CPU_F32, g.b.sizes, g.b.copyStrides()};
  // An f32 output is written in place.
  bool outputF32 = g.typeC == AMPC_CPU_F32;
  View c = outputF32 ? g.c : View{nullptr, AMPC_CPU_F32, g.c.sizes, g.c.copyStrides()};
  Gemm converted = g;
  converted.biasType = AMPC_CPU_F32;
  const GemmPrimitive &f32 =
      gemmPrimitive(converted, AMPC_CPU_F32, AMPC_CPU_F32, AMPC_CPU_F32, a, b, c);
  if (!f32.valid) {
    count(Reference);
    referenceGemm(g);
    return;
  }
  count(Converted);
  float *ca = toF32(g.a, 0), *cb = toF32(g.b, 1);
  void *cc = const_cast<void *>(g.c.data);
  if (!outputF32) {
    cc = scratch(2, c.elements());
    // The sum post-op reads what C holds.
    if (g.beta != 0.0f)
      toF32(g.c, static_cast<float *>(cc));
  }
  const void *bias = g.bias;
  if (g.bias && g.biasType != AMPC_CPU_F32)
    bias = toF32(View{g.bias, g.biasType, {g.n}, {1}}, 3);
  runGemm(f32, ca, cb, cc, bias, converted, AMPC_CPU_F32, AMPC_CPU_F32, AMPC_CPU_F32, a, b, c);
  if (!outputF32)
    fromF32(static_cast<const float *>(cc), g.c, 0.0f);
}

//===----------------------------------------------------------------------===//
// Convolutions
//===----------------------------------------------------------------------===//

struct Conv {
  int32_t kind, typeX, typeW, typeY;
  int64_t n, groups, c, h, w, k, kh, kw, oh, ow;
  View x, wt, y; ///< logical (N, GC, H, W), (G, K, C, KH, KW), (N, GK, OH, OW)
  int64_t sh, sw, dh, dw, pt, pl, pb, pr;
  float beta;
  const void *bias;
  int32_t biasType, postOp;
};

/// A cached convolution: the primitive in oneDNN's preferred layouts, and
/// the reorders between those and the caller's strided operands.
struct ConvPrimitive {
  dnnl::primitive primitive;
  memory::desc x, wt, y;                 ///< the primitive's layouts
  std::optional<dnnl::reorder> inX, inW, inY, outX, outW, outY;
  memory::desc scratchpad;
  bool valid = false;
};

std::map<std::vector<int64_t>, ConvPrimitive> convCache;

/// The weights descriptor oneDNN takes: (K, C, KH, KW), or (G, K, C, KH, KW).
View weightsView(const View &view, int64_t groups) {
  if (groups != 1)
    return view;
  return View{view.data, view.type, {view.sizes.begin() + 1, view.sizes.end()},
              {view.strides.begin() + 1, view.strides.end()}};
}

ConvPrimitive makeConv(const Conv &p, int32_t tx, int32_t tw, int32_t ty, const View &vx,
                       const View &vw, const View &vy) {
  Runtime &rt = runtime();
  ConvPrimitive entry;
  auto any = [](const View &v, int32_t type) {
    return memory::desc(Dims(v.sizes.begin(), v.sizes.end()), dataType(type), memory::format_tag::any);
  };
  View wv = weightsView(vw, p.groups);
  memory::desc xAny = any(vx, tx), wAny = any(wv, tw), yAny = any(vy, ty);
  Dims strides = {p.sh, p.sw}, dilates = {p.dh - 1, p.dw - 1}, padL = {p.pt, p.pl},
       padR = {p.pb, p.pr};
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  memory::desc biasDesc;
  if (p.kind == AMPC_CPU_CONV_FORWARD) {
    dnnl::post_ops ops;
    if (p.postOp == AMPC_CPU_POST_RELU)
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
    if (p.bias)
      biasDesc = memory::desc({p.groups * p.k}, dataType(p.biasType), memory::format_tag::a);
  }
  if (p.kind == AMPC_CPU_CONV_FORWARD) {
    dnnl::convolution_forward::desc forward =
        p.bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                 dnnl::algorithm::convolution_direct, xAny, wAny,
                                                 biasDesc, yAny, strides, dilates, padL, padR)
               : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                 dnnl::algorithm::convolution_direct, xAny, wAny,
                                                 yAny, strides, dilates, padL, padR);
    dnnl::convolution_forward::primitive_desc pd(forward, attr, rt.engine);
    entry.x = pd.src_desc();
    entry.wt = pd.weights_desc();
    entry.y = pd.dst_desc();
    entry.scratchpad = pd.scratchpad_desc();
    entry.primitive = dnnl::convolution_forward(pd);
  } else {
    // The hint is the forward convolution of the same precision: the
    // operand a backward pass writes is often f32 (an accumulated gradient)
    // while its inputs are bf16, and oneDNN has no forward kernel for such a
    // mix, so the hint takes the inputs' type for the written operand too.
    bool data = p.kind == AMPC_CPU_CONV_BACKWARD_DATA;
    memory::desc hintX = data ? any(vx, tw) : xAny, hintW = data ? wAny : any(wv, tx);
    dnnl::convolution_forward::desc hintDesc(dnnl::prop_kind::forward_training,
                                             dnnl::algorithm::convolution_direct, hintX, hintW,
                                             yAny, strides, dilates, padL, padR);
    dnnl::primitive_attr plain;
    dnnl::convolution_forward::primitive_desc hint(hintDesc, plain, rt.engine);
    if (p.kind == AMPC_CPU_CONV_BACKWARD_DATA) {
      dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, xAny, wAny,
                                                 yAny, strides, dilates, padL, padR);
      dnnl::convolution_backward_data::primitive_desc pd(desc, attr, rt.engine, hint);
      entry.x = pd.diff_src_desc();
      entry.wt = pd.weights_desc();
      entry.y = pd.diff_dst_desc();
      entry.scratchpad = pd.scratchpad_desc();
      entry.primitive = dnnl::convolution_backward_data(pd);
    } else {
      dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, xAny,
                                                    wAny, yAny, strides, dilates, padL, padR);
      dnnl::convolution_backward_weights::primitive_desc pd(desc, attr, rt.engine, hint);
      entry.x = pd.src_desc();
      entry.wt = pd.diff_weights_desc();
      entry.y = pd.diff_dst_desc();
      entry.scratchpad = pd.scratchpad_desc();
      entry.primitive = dnnl::convolution_backward_weights(pd);
    }
  }
  // Reorders between the caller's strided operands and the primitive's
  // layouts where they differ; the written operand's reorder back adds to
  // what is there when beta is 1.
  memory::desc userX = describe(vx, dataType(tx)), userW = describe(wv, dataType(tw)),
               userY = describe(vy, dataType(ty));
  int written = p.kind == AMPC_CPU_CONV_FORWARD ? 2 : p.kind == AMPC_CPU_CONV_BACKWARD_DATA ? 0 : 1;
  auto reorder = [&](const memory::desc &from, const memory::desc &to, bool accumulate) {
    dnnl::primitive_attr reorderAttr;
    if (accumulate) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);
      reorderAttr.set_post_ops(ops);
    }
    return dnnl::reorder(dnnl::reorder::primitive_desc(rt.engine, from, rt.engine, to, reorderAttr));
  };
  const memory::desc *user[3] = {&userX, &userW, &userY};
  const memory::desc *chosen[3] = {&entry.x, &entry.wt, &entry.y};
  std::optional<dnnl::reorder> *in[3] = {&entry.inX, &entry.inW, &entry.inY};
  std::optional<dnnl::reorder> *out[3] = {&entry.outX, &entry.outW, &entry.outY};
  for (int i = 0; i < 3; ++i) {
    bool differs = *user[i] != *chosen[i];
    bool accumulate = i == written && p.beta != 0.0f;
    if (i != written) {
      if (differs)
        *in[i] = reorder(*user[i], *chosen[i], false);
    } else if (differs || accumulate) {
      *out[i] = reorder(*chosen[i], *user[i], accumulate);
    }
  }
  entry.valid = true;
  return entry;
}

const ConvPrimitive &convPrimitive(const Conv &p, int32_t tx, int32_t tw, int32_t ty, const View &vx,
                                   const View &vw, const View &vy) {
  Runtime &rt = runtime();
  // The thread count too, as for GEMMs (gemmKey).
  std::vector<int64_t> key = {omp_get_max_threads(), p.kind, tx, tw, ty, p.groups, p.sh, p.sw,
                              p.dh, p.dw, p.pt, p.pl, p.pb, p.pr, (int64_t)(p.beta != 0.0f),
                              p.bias != nullptr, p.biasType, p.postOp};
  for (const View *v : {&vx, &vw, &vy}) {
    key.insert(key.end(), v->sizes.begin(), v->sizes.end());
    key.insert(key.end(), v->strides.begin(), v->strides.end());
  }
  {
    std::lock_guard<std::mutex> lock(rt.mutex);
    auto it = convCache.find(key);
    if (it != convCache.end()) {
      count(Reused);
      return it->second;
    }
  }
  ConvPrimitive entry;
  try {
    entry = makeConv(p, tx, tw, ty, vx, vw, vy);
    count(Created);
  } catch (const dnnl::error &) {
    entry = ConvPrimitive();
  }
  std::lock_guard<std::mutex> lock(rt.mutex);
  return convCache.emplace(std::move(key), std::move(entry)).first->second;
}

void runConv(const ConvPrimitive &e, const Conv &p, int32_t tx, int32_t tw, int32_t ty,
             const View &vx, const View &vw, const View &vy) {
  Runtime &rt = runtime();
  View wv = weightsView(vw, p.groups);
  memory userX(describe(vx, dataType(tx)), rt.engine, const_cast<void *>(vx.data));
  memory userW(describe(wv, dataType(tw)), rt.engine, const_cast<void *>(wv.data));
  memory userY(describe(vy, dataType(ty)), rt.engine, const_cast<void *>(vy.data));
  memory *user[3] = {&userX, &userW, &userY};
  const memory::desc *chosen[3] = {&e.x, &e.wt, &e.y};
  const std::optional<dnnl::reorder> *in[3] = {&e.inX, &e.inW, &e.inY};
  const std::optional<dnnl::reorder> *out[3] = {&e.outX, &e.outW, &e.outY};
  memory used[3];
  for (int i = 0; i < 3; ++i) {
    if (*in[i] || *out[i]) {
      used[i] = memory(*chosen[i], rt.engine);
      if (*in[i])
        (*in[i])->execute(rt.stream, *user[i], used[i]);
    } else {
      used[i] = *user[i];
    }
  }
  memory scratchpad(e.scratchpad, rt.engine);
  std::unordered_map<int, memory> args = {{DNNL_ARG_SCRATCHPAD, scratchpad}};
  if (p.kind == AMPC_CPU_CONV_FORWARD) {
    args.emplace(DNNL_ARG_SRC, used[0]);
    args.emplace(DNNL_ARG_WEIGHTS, used[1]);
    args.emplace(DNNL_ARG_DST, used[2]);
    if (p.bias)
      args.emplace(DNNL_ARG_BIAS, memory(memory::desc({p.groups * p.k}, dataType(p.biasType),
                                                      memory::format_tag::a),
                                         rt.engine, const_cast<void *>(p.bias)));
  } else if (p.kind == AMPC_CPU_CONV_BACKWARD_DATA) {
    args.emplace(DNNL_ARG_DIFF_SRC, used[0]);
    args.emplace(DNNL_ARG_WEIGHTS, used[1]);
    args.emplace(DNNL_ARG_DIFF_DST, used[2]);
  } else {
    args.emplace(DNNL_ARG_SRC, used[0]);
    args.emplace(DNNL_ARG_DIFF_WEIGHTS, used[1]);
    args.emplace(DNNL_ARG_DIFF_DST, used[2]);
  }
  e.primitive.execute(rt.stream, args);
  for (int i = 0; i < 3; ++i)
    if (*out[i])
      (*out[i])->execute(rt.stream, used[i], *user[i]);
  rt.stream.wait();
}

void referenceConv(const Conv &p) {
  int64_t cpg = p.c, kpg = p.k;
  // Accumulate the written operand in f32 from zero, then store.
  const View &target = p.kind == AMPC_CPU_CONV_FORWARD ? p.y
                       : p.kind == AMPC_CPU_CONV_BACKWARD_DATA ? p.x
                                                               : p.wt;
  std::vector<float> acc(target.elements(), 0.0f);
  std::vector<int64_t> dense = target.denseStrides();
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t g = 0; g < p.groups; ++g)
      for (int64_t k = 0; k < kpg; ++k)
        for (int64_t oh = 0; oh < p.oh; ++oh)
          for (int64_t ow = 0; ow < p.ow; ++ow)
            for (int64_t c = 0; c < cpg; ++c)
              for (int64_t i = 0; i < p.kh; ++i)
                for (int64_t j = 0; j < p.kw; ++j) {
                  int64_t ih = oh * p.sh + i * p.dh - p.pt, iw = ow * p.sw + j * p.dw - p.pl;
                  if (ih < 0 || ih >= p.h || iw < 0 || iw >= p.w)
                    continue;
                  int64_t xi[4] = {n, g * cpg + c, ih, iw}, wi[5] = {g, k, c, i, j},
                          yi[4] = {n, g * kpg + k, oh, ow};
                  auto at = [](const View &v, const int64_t *index) {
                    int64_t o = 0;
                    for (size_t d = 0; d < v.sizes.size(); ++d)
                      o += index[d] * v.strides[d];
                    return o;
                  };
                  auto dense_at = [&](const int64_t *index) {
                    int64_t o = 0;
                    for (size_t d = 0; d < dense.size(); ++d)
                      o += index[d] * dense[d];
                    return o;
                  };
                  if (p.kind == AMPC_CPU_CONV_FORWARD)
                    acc[dense_at(yi)] += load(p.x.data, p.typeX, at(p.x, xi)) *
                                         load(p.wt.data, p.typeW, at(p.wt, wi));
                  else if (p.kind == AMPC_CPU_CONV_BACKWARD_DATA)
                    acc[dense_at(xi)] += load(p.y.data, p.typeY, at(p.y, yi)) *
                                         load(p.wt.data, p.typeW, at(p.wt, wi));
                  else
                    acc[dense_at(wi)] += load(p.x.data, p.typeX, at(p.x, xi)) *
                                         load(p.y.data, p.typeY, at(p.y, yi));
                }
  if (p.kind == AMPC_CPU_CONV_FORWARD) {
    void *y = const_cast<void *>(p.y.data);
    p.y.forEach([&](int64_t offset, int64_t linear) {
      float value = acc[linear];
      if (p.beta != 0.0f)
        value += load(y, p.typeY, offset);
      if (p.bias)
        value += load(p.bias, p.biasType, (linear / (p.oh * p.ow)) % (p.groups * p.k));
      if (p.postOp == AMPC_CPU_POST_RELU)
        value = std::max(value, 0.0f);
      store(y, p.typeY, offset, value);
    });
    return;
  }
  // acc is row-major: store element by element.
  void *out = const_cast<void *>(target.data);
  int32_t type = p.kind == AMPC_CPU_CONV_BACKWARD_DATA ? p.typeX : p.typeW;
  target.forEach([&](int64_t offset, int64_t linear) {
    float value = acc[linear];
    if (p.beta != 0.0f)
      value += load(out, type, offset);
    store(out, type, offset, value);
  });
}

void conv(Conv p) {
  count(Calls);
  // Rows and columns past the forward's last window (negative bottom/right
  // padding) are not read; the backward-data result there is zero.
  auto trim = [&](int64_t &size, int64_t &pad, int dim) {
    if (pad >= 0)
      return;
    int64_t keep = size + pad;
    if (p.kind == AMPC_CPU_CONV_BACKWARD_DATA && p.beta == 0.0f) {
      View rest = p.x;
      rest.sizes[dim] = size - keep;
      char *base = static_cast<char *>(const_cast<void *>(p.x.data));
      rest.data = base + keep * p.x.strides[dim] * (int64_t)elementBytes(p.typeX);
      void *data = const_cast<void *>(rest.data);
      rest.forEach([&](int64_t offset, int64_t) { store(data, p.typeX, offset, 0.0f); });
    }
    size = keep;
    p.x.sizes[dim] = keep;
    pad = 0;
  };
  trim(p.h, p.pb, 2);
  trim(p.w, p.pr, 3);

  const ConvPrimitive &native = convPrimitive(p, p.typeX, p.typeW, p.typeY, p.x, p.wt, p.y);
  if (native.valid) {
    runConv(native, p, p.typeX, p.typeW, p.typeY, p.x, p.wt, p.y);
    return;
  }
  View x{nullptr, AMPC_CPU_F32, p.x.sizes, p.x.copyStrides()};
  View wt{nullptr, AMPC_CPU_F32, p.wt.sizes, p.wt.copyStrides()};
  View y{nullptr, AMPC_CPU_F32, p.y.sizes, p.y.copyStrides()};
  Conv f32 = p;
  f32.biasType = AMPC_CPU_F32;
  const ConvPrimitive &converted = convPrimitive(f32, AMPC_CPU_F32, AMPC_CPU_F32, AMPC_CPU_F32, x, wt, y);
  if (!converted.valid) {
    count(Reference);
    referenceConv(p);
    return;
  }
  count(Converted);
  float *cx = toF32(p.x, 0), *cw = toF32(p.wt, 1), *cy = toF32(p.y, 2);
  if (p.bias)
    f32.bias = toF32(View{p.bias, p.biasType, {p.groups * p.k}, {1}}, 3);
  x.data = cx;
  wt.data = cw;
  y.data = cy;
  runConv(converted, f32, AMPC_CPU_F32, AMPC_CPU_F32, AMPC_CPU_F32, x, wt, y);
  // The written operand's converted copy held the caller's values for beta
  // 1 (the reorder back added into it): store it whole.
  if (p.kind == AMPC_CPU_CONV_FORWARD)
    fromF32(cy, p.y, 0.0f);
  else if (p.kind == AMPC_CPU_CONV_BACKWARD_DATA)
    fromF32(cx, p.x, 0.0f);
  else
    fromF32(cw, p.wt, 0.0f);
}

} // namespace

extern "C" {

void ampc_cpu_gemm(int32_t typeA, int32_t typeB, int32_t typeC, int32_t transA, int32_t transB,
                   int64_t batch, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                   int64_t strideA, const void *b, int64_t ldb, int64_t strideB, void *c,
                   int64_t ldc, int64_t strideC, float beta, const void *bias, int32_t biasType,
                   int32_t postOp) {
  Gemm g;
  g.typeA = typeA;
  g.typeB = typeB;
  g.typeC = typeC;
  g.a = View{a, typeA, {batch, m, k},
             transA ? std::vector<int64_t>{strideA, 1, lda} : std::vector<int64_t>{strideA, lda, 1}};
  g.b = View{b, typeB, {batch, k, n},
             transB ? std::vector<int64_t>{strideB, 1, ldb} : std::vector<int64_t>{strideB, ldb, 1}};
  g.c = View{c, typeC, {batch, m, n}, {strideC, ldc, 1}};
  // A batch of one has no batch stride worth trusting.
  if (batch == 1)
    g.a.strides[0] = m * k, g.b.strides[0] = k * n, g.c.strides[0] = m * n;
  g.beta = beta;
  g.bias = bias;
  g.biasType = biasType;
  g.postOp = postOp;
  g.n = n;
  gemm(g);
}

void ampc_cpu_conv2d(int32_t kind, int32_t typeX, int32_t typeW, int32_t typeY, int64_t n,
                     int64_t groups, int64_t c, int64_t h, int64_t w, int64_t k, int64_t kh,
                     int64_t kw, int64_t oh, int64_t ow, const void *x, int64_t xn, int64_t xc,
                     int64_t xh, int64_t xw, const void *wt, int64_t wg, int64_t wk, int64_t wc,
                     int64_t wh, int64_t ww, const void *y, int64_t yn, int64_t yc, int64_t yh,
                     int64_t yw, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t pt,
                     int64_t pl, int64_t pb, int64_t pr, float beta, const void *bias,
                     int32_t biasType, int32_t postOp) {
  Conv p;
  p.kind = kind;
  p.typeX = typeX;
  p.typeW = typeW;
  p.typeY = typeY;
  p.n = n;
  p.groups = groups;
  p.c = c;
  p.h = h;
  p.w = w;
  p.k = k;
  p.kh = kh;
  p.kw = kw;
  p.oh = oh;
  p.ow = ow;
  p.x = View{x, typeX, {n, groups * c, h, w}, {xn, xc, xh, xw}};
  p.wt = View{wt, typeW, {groups, k, c, kh, kw}, {wg, wk, wc, wh, ww}};
  p.y = View{y, typeY, {n, groups * k, oh, ow}, {yn, yc, yh, yw}};
  p.sh = sh;
  p.sw = sw;
  p.dh = dh;
  p.dw = dw;
  p.pt = pt;
  p.pl = pl;
  p.pb = pb;
  p.pr = pr;
  p.beta = beta;
  p.bias = bias;
  p.biasType = biasType;
  p.postOp = postOp;
  conv(p);
}

void ampc_cpu_set_threads(int32_t threads) {
  omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs());
}

int32_t ampc_cpu_get_threads(void) { return omp_get_max_threads(); }

void ampc_cpu_stats(int64_t out[5]) {
  for (int i = 0; i < NumStats; ++i)
    out[i] = runtime().stats[i].load();
}

const char *ampc_cpu_onednn_version(void) {
  static char text[32];
  const dnnl_version_t *v = dnnl_version();
  std::snprintf(text, sizeof text, "%d.%d.%d", v->major, v->minor, v->patch);
  return text;
}

} // extern "C"
