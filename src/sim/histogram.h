// Histogram: a latency histogram in the manner of LevelDB's (db_bench), with log-linear
// buckets so that any percentile is known to within 1/64 (1.6%) of its value, exactly below
// 128, in constant memory (~30 KiB) however many samples it holds.
//
// Values are non-negative integers in whatever unit the caller picks (the simulator uses
// microseconds); negative values count as 0. A plain value: copyable, not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace todo::sim {

class Histogram {
 public:
  Histogram();

  void Add(int64_t value);
  void Merge(const Histogram& other);
  void Clear();

  int64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }

  // The smallest value v such that at least `p` percent of the samples are <= v, rounded up
  // to the top of its bucket and clamped to [min(), max()]; so Percentile(100) == max() and
  // Percentile(0) == min(). 0 when empty. `p` outside [0, 100] is clamped.
  int64_t Percentile(double p) const;

 private:
  // Sub-buckets per power of two: 2^kSubBits. Values below 2^(kSubBits+1) have a bucket each.
  static constexpr int kSubBits = 6;
  static int BucketOf(int64_t value);
  static int64_t BucketHigh(int bucket);

  std::vector<int64_t> buckets_;
  int64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
};

}  // namespace todo::sim
