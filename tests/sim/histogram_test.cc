// The latency histogram: exact below 128, within 1/64 above, min and max exact.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "sim/histogram.h"

namespace todo::sim {
namespace {

TEST(HistogramTest, EmptyIsAllZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0);
  EXPECT_EQ(h.Percentile(50), 0);
  EXPECT_EQ(h.Percentile(99.9), 0);
}

TEST(HistogramTest, OneValue) {
  Histogram h;
  h.Add(12345);
  for (double p : {0.0, 50.0, 99.0, 100.0}) EXPECT_EQ(h.Percentile(p), 12345) << p;
  EXPECT_EQ(h.min(), 12345);
  EXPECT_EQ(h.max(), 12345);
  EXPECT_DOUBLE_EQ(h.mean(), 12345);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (int v = 1; v <= 100; ++v) h.Add(v);
  EXPECT_EQ(h.Percentile(50), 50);
  EXPECT_EQ(h.Percentile(90), 90);
  EXPECT_EQ(h.Percentile(99), 99);
  EXPECT_EQ(h.Percentile(100), 100);
  EXPECT_EQ(h.Percentile(0), 1);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(HistogramTest, LargeValuesWithinOneSixtyFourth) {
  Histogram h;
  for (int v = 1; v <= 100000; ++v) h.Add(int64_t{v} * 10);  // 10 us .. 1 s
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    double exact = p / 100.0 * 100000 * 10;
    double got = static_cast<double>(h.Percentile(p));
    EXPECT_GE(got, exact - 10) << p;  // never below the true value (bucket tops)
    EXPECT_LE(got, exact * (1 + 1.0 / 64)) << p;
  }
  EXPECT_EQ(h.Percentile(100), 1000000);
  EXPECT_EQ(h.max(), 1000000);
  EXPECT_EQ(h.min(), 10);
}

TEST(HistogramTest, PercentilesOfASkewedDistribution) {
  // 990 fast calls at 1 ms, 10 slow at 200 ms: p99 is fast, p99.9 and max are slow.
  Histogram h;
  for (int i = 0; i < 990; ++i) h.Add(1000);
  for (int i = 0; i < 10; ++i) h.Add(200000);
  EXPECT_LE(h.Percentile(50), 1000 * 65 / 64);
  EXPECT_LE(h.Percentile(99), 1000 * 65 / 64);
  EXPECT_GE(h.Percentile(99.9), 200000);
  EXPECT_EQ(h.max(), 200000);
}

TEST(HistogramTest, MergeEqualsAddingEverything) {
  Histogram a, b, all;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 5000; ++i) {
    int64_t v = static_cast<int64_t>(rng() % 1000000);
    (i % 3 ? a : b).Add(v);
    all.Add(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(a.Percentile(p), all.Percentile(p));
  Histogram empty;
  empty.Merge(all);
  EXPECT_EQ(empty.min(), all.min());
}

TEST(HistogramTest, ClearAndNegatives) {
  Histogram h;
  h.Add(500);
  h.Clear();
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.max(), 0);
  h.Add(-5);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.Percentile(50), 0);
  h.Add(int64_t{1} << 62);  // clamped, not out of range
  EXPECT_GT(h.max(), int64_t{1} << 61);
}

}  // namespace
}  // namespace todo::sim
