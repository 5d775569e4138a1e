//===- CpuProfileTest.cpp - the step profiler of ampc_cpu_support ---------===//
//
// The profiler's table is defined by each compiled library (Compiler.cpp's
// addProfileTable); this test defines one of three points the same way.
//
//===----------------------------------------------------------------------===//

#include "ampc_cpu_support.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

// Two entries more than the three points need: a write past the table
// (point 3) would land there, where the test can see it.
extern "C" {
long long ampc_profile_totals[8];
extern const long long ampc_profile_point_count;
const long long ampc_profile_point_count = 3;
}

namespace {

struct Totals {
  long long nanoseconds[4];
  long long calls[4];
};

Totals read() {
  Totals t;
  ampc_profile_read(4, t.nanoseconds, t.calls);
  return t;
}

class CpuProfile : public ::testing::Test {
protected:
  void SetUp() override {
    ampc_profile_enable(0);
    ampc_profile_reset();
  }
  void TearDown() override { ampc_profile_enable(0); }
};

TEST_F(CpuProfile, OffRecordsNothing) {
  EXPECT_EQ(ampc_profile_points(), 3);
  long long start = ampc_profile_begin();
  EXPECT_EQ(start, 0);
  ampc_profile_end(1, start);
  Totals t = read();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(t.nanoseconds[i], 0);
    EXPECT_EQ(t.calls[i], 0);
  }
}

TEST_F(CpuProfile, OnAddsTimeAndCallsToThePoint) {
  EXPECT_EQ(ampc_profile_enable(1), 0);
  for (int i = 0; i < 2; ++i) {
    long long start = ampc_profile_begin();
    EXPECT_NE(start, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ampc_profile_end(2, start);
  }
  Totals t = read();
  EXPECT_EQ(t.calls[2], 2);
  EXPECT_GE(t.nanoseconds[2], 4'000'000); // two sleeps of at least 2 ms
  EXPECT_EQ(t.calls[0] + t.calls[1], 0);
  EXPECT_EQ(ampc_profile_enable(0), 1);
}

TEST_F(CpuProfile, IdsOutsideTheTableAreIgnoredAndReadAsZero) {
  ampc_profile_enable(1);
  long long start = ampc_profile_begin();
  ampc_profile_end(3, start);
  ampc_profile_end(-1, start);
  Totals t = read();
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(t.calls[i], 0) << "point " << i;
  for (long long total : ampc_profile_totals)
    EXPECT_EQ(total, 0);
}

TEST_F(CpuProfile, ResetZeroesEveryTotal) {
  ampc_profile_enable(1);
  ampc_profile_end(0, ampc_profile_begin());
  ampc_profile_end(1, ampc_profile_begin());
  EXPECT_EQ(read().calls[0], 1);
  ampc_profile_reset();
  Totals t = read();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t.nanoseconds[i], 0);
    EXPECT_EQ(t.calls[i], 0);
  }
}

TEST_F(CpuProfile, ThreadsCountEveryCall) {
  ampc_profile_enable(1);
  constexpr int kThreads = 4, kCalls = 10000;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([] {
      for (int c = 0; c < kCalls; ++c)
        ampc_profile_end(0, ampc_profile_begin());
    });
  for (std::thread &thread : threads)
    thread.join();
  EXPECT_EQ(read().calls[0], kThreads * kCalls);
}

} // namespace
