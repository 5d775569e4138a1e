/*===- ampc_cpu_support.c - CPU checks and conversion helpers --------------===//
 *
 * Compiled for baseline x86-64 (no AVX): it must run on the CPUs it refuses.
 *===----------------------------------------------------------------------===*/

#include "ampc_cpu_support.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

enum { EAX, EBX, ECX, EDX };

/* The ISA extensions LLVM's code generator may use without intrinsics, and
 * where CPUID reports them. xsave is the OS-enabled register state (XCR0)
 * the extension needs: AVX state for VEX-encoded 256-bit code, opmask and
 * ZMM state for AVX-512. */
struct Feature {
  const char *name;
  unsigned leaf, subleaf, reg, bit;
  uint64_t xsave;
};

#define XSAVE_AVX 0x6ull
#define XSAVE_AVX512 0xe6ull

static const struct Feature kFeatures[] = {
    {"sse3", 1, 0, ECX, 0, 0},
    {"ssse3", 1, 0, ECX, 9, 0},
    {"fma", 1, 0, ECX, 12, XSAVE_AVX},
    {"cx16", 1, 0, ECX, 13, 0},
    {"sse4.1", 1, 0, ECX, 19, 0},
    {"sse4.2", 1, 0, ECX, 20, 0},
    {"movbe", 1, 0, ECX, 22, 0},
    {"popcnt", 1, 0, ECX, 23, 0},
    {"avx", 1, 0, ECX, 28, XSAVE_AVX},
    {"f16c", 1, 0, ECX, 29, XSAVE_AVX},
    {"bmi", 7, 0, EBX, 3, 0},
    {"avx2", 7, 0, EBX, 5, XSAVE_AVX},
    {"bmi2", 7, 0, EBX, 8, 0},
    {"avx512f", 7, 0, EBX, 16, XSAVE_AVX512},
    {"avx512dq", 7, 0, EBX, 17, XSAVE_AVX512},
    {"avx512ifma", 7, 0, EBX, 21, XSAVE_AVX512},
    {"avx512cd", 7, 0, EBX, 28, XSAVE_AVX512},
    {"avx512bw", 7, 0, EBX, 30, XSAVE_AVX512},
    {"avx512vl", 7, 0, EBX, 31, XSAVE_AVX512},
    {"avx512vbmi", 7, 0, ECX, 1, XSAVE_AVX512},
    {"avx512vbmi2", 7, 0, ECX, 6, XSAVE_AVX512},
    {"gfni", 7, 0, ECX, 8, 0},
    {"avx512vnni", 7, 0, ECX, 11, XSAVE_AVX512},
    {"avx512bitalg", 7, 0, ECX, 12, XSAVE_AVX512},
    {"avx512vpopcntdq", 7, 0, ECX, 14, XSAVE_AVX512},
    {"avx512vp2intersect", 7, 0, EDX, 8, XSAVE_AVX512},
    {"avx512fp16", 7, 0, EDX, 23, XSAVE_AVX512},
    {"avxvnni", 7, 1, EAX, 4, XSAVE_AVX},
    {"avx512bf16", 7, 1, EAX, 5, XSAVE_AVX512},
    {"avxifma", 7, 1, EAX, 23, XSAVE_AVX},
    {"avxvnniint8", 7, 1, EDX, 4, XSAVE_AVX},
    {"avxneconvert", 7, 1, EDX, 5, XSAVE_AVX},
    {"sahf", 0x80000001, 0, ECX, 0, 0},
    {"lzcnt", 0x80000001, 0, ECX, 5, 0},
    {"sse4a", 0x80000001, 0, ECX, 6, 0},
    {"prfchw", 0x80000001, 0, ECX, 8, 0},
    {"xop", 0x80000001, 0, ECX, 11, XSAVE_AVX},
    {"fma4", 0x80000001, 0, ECX, 16, XSAVE_AVX},
    {"tbm", 0x80000001, 0, ECX, 21, 0},
};

static const struct Feature *lookup(const char *name, size_t length) {
  for (size_t i = 0; i < sizeof(kFeatures) / sizeof(kFeatures[0]); ++i)
    if (strlen(kFeatures[i].name) == length && memcmp(kFeatures[i].name, name, length) == 0)
      return &kFeatures[i];
  return NULL;
}

static uint64_t savedState(void) {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) /* OSXSAVE */
    return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

static int supported(const struct Feature *feature, uint64_t state) {
  unsigned regs[4] = {0, 0, 0, 0};
  unsigned base = feature->leaf & 0x80000000u;
  if (__get_cpuid_max(base, NULL) < feature->leaf)
    return 0;
  __cpuid_count(feature->leaf, feature->subleaf, regs[EAX], regs[EBX], regs[ECX], regs[EDX]);
  if (!(regs[feature->reg] & (1u << feature->bit)))
    return 0;
  return (state & feature->xsave) == feature->xsave;
}

int ampc_cpu_feature_known(const char *feature) {
  return lookup(feature, strlen(feature)) != NULL;
}

const char *ampc_cpu_missing_feature(const char *features) {
  uint64_t state = savedState();
  const char *p = features;
  while (p && *p) {
    const char *end = strchr(p, ',');
    size_t length = end ? (size_t)(end - p) : strlen(p);
    if (length) {
      const struct Feature *feature = lookup(p, length);
      if (!feature || !supported(feature, state))
        return p;
    }
    p = end ? end + 1 : NULL;
  }
  return NULL;
}

#else /* not x86 */

int ampc_cpu_feature_known(const char *feature) { (void)feature; return 0; }

const char *ampc_cpu_missing_feature(const char *features) {
  return features && *features ? features : NULL;
}

#endif

/* float -> bfloat16, rounding to nearest even (NaN stays a quiet NaN). LLVM
 * calls this where the target has no conversion instruction (no
 * AVX512-BF16); compiler-rt and GCC 13's libgcc define it, Debian 12's
 * libgcc does not. A __bf16 travels in the low half of an XMM register, as
 * a _Float16 does, so _Float16 stands in for the type GCC 12 lacks. */
static uint16_t bf16Bits(uint32_t bits) {
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t)((bits >> 16) | 0x40u);
  return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

__attribute__((visibility("hidden"))) _Float16 __truncsfbf2(float x) {
  uint32_t bits;
  memcpy(&bits, &x, sizeof bits);
  uint16_t r = bf16Bits(bits);
  _Float16 out;
  memcpy(&out, &r, sizeof out);
  return out;
}

/* double -> bfloat16 through float: exact except for doubles that round to
 * a bf16 tie twice; LLVM emits this for f64 -> bf16, which ampc never asks for. */
__attribute__((visibility("hidden"))) _Float16 __truncdfbf2(double x) {
  return __truncsfbf2((float)x);
}
