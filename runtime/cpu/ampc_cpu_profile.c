/*===- ampc_cpu_profile.c - the step profiler ------------------------------===//
 *
 * Totals per profile point (a kernel or runtime call site of a step, see
 * ampc_cpu_support.h). The table is the library's own: ampc defines
 * ampc_profile_totals (two counters per point, zero-initialised, so it costs
 * no memory until touched) and ampc_profile_point_count next to the code it
 * instruments. Both are weak here, so that a library without points (or a
 * test that defines none) links and simply records nothing. Totals are added
 * atomically: a step called from several threads at once still counts right.
 *===----------------------------------------------------------------------===*/

#include "ampc_cpu_support.h"

#include <time.h>

extern long long ampc_profile_totals[] __attribute__((weak, visibility("hidden")));
extern const long long ampc_profile_point_count __attribute__((weak, visibility("hidden")));

static int profiling;

static long long point_count(void) {
  return &ampc_profile_point_count ? ampc_profile_point_count : 0;
}

static long long now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec + 1; /* never 0 */
}

long long ampc_profile_begin(void) {
  if (!__atomic_load_n(&profiling, __ATOMIC_RELAXED))
    return 0;
  return now();
}

void ampc_profile_end(long long id, long long start) {
  if (!start || id < 0 || id >= point_count())
    return;
  __atomic_add_fetch(&ampc_profile_totals[2 * id], now() - start, __ATOMIC_RELAXED);
  __atomic_add_fetch(&ampc_profile_totals[2 * id + 1], 1, __ATOMIC_RELAXED);
}

int ampc_profile_enable(int on) {
  return __atomic_exchange_n(&profiling, on ? 1 : 0, __ATOMIC_RELAXED);
}

long long ampc_profile_points(void) { return point_count(); }

void ampc_profile_read(long long count, long long *nanoseconds, long long *calls) {
  long long known = point_count();
  for (long long i = 0; i < count; ++i) {
    nanoseconds[i] = i < known ? __atomic_load_n(&ampc_profile_totals[2 * i], __ATOMIC_RELAXED) : 0;
    calls[i] = i < known ? __atomic_load_n(&ampc_profile_totals[2 * i + 1], __ATOMIC_RELAXED) : 0;
  }
}

void ampc_profile_reset(void) {
  for (long long i = 0, e = 2 * point_count(); i < e; ++i)
    __atomic_store_n(&ampc_profile_totals[i], 0, __ATOMIC_RELAXED);
}
