#include "sim/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace todo::sim {
namespace {

constexpr int kExact = 2 << 6;  // 2^(kSubBits+1): values below have a bucket each
constexpr int kSub = 1 << 6;    // sub-buckets per power of two above that
// Powers of two from 2^7 to 2^62 (larger values are clamped: 146 years in microseconds).
constexpr int kBuckets = kExact + (62 - 7 + 1) * kSub;
constexpr int64_t kMaxValue = (int64_t{1} << 62) - 1;

}  // namespace

Histogram::Histogram() : buckets_(kBuckets, 0) {}

int Histogram::BucketOf(int64_t value) {
  if (value < kExact) return static_cast<int>(value);
  int exponent = std::bit_width(static_cast<uint64_t>(value)) - 1;  // >= 7
  int shift = exponent - kSubBits;
  int sub = static_cast<int>(value >> shift) - kSub;  // 0 .. kSub-1
  return kExact + (exponent - kSubBits - 1) * kSub + sub;
}

int64_t Histogram::BucketHigh(int bucket) {
  if (bucket < kExact) return bucket;
  int exponent = (bucket - kExact) / kSub + kSubBits + 1;
  int sub = (bucket - kExact) % kSub;
  int shift = exponent - kSubBits;
  int64_t low = static_cast<int64_t>(kSub + sub) << shift;
  return low + (int64_t{1} << shift) - 1;
}

void Histogram::Add(int64_t value) {
  value = std::clamp<int64_t>(value, 0, kMaxValue);
  ++buckets_[BucketOf(value)];
  if (count_ == 0 || value < min_) min_ = value;
  if (value > max_) max_ = value;
  ++count_;
  sum_ += value;
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  min_ = count_ ? std::min(min_, other.min_) : other.min_;
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

void Histogram::Clear() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = sum_ = min_ = max_ = 0;
}

int64_t Histogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<int64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<int64_t>(rank, 1, count_);
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::clamp(BucketHigh(i), min_, max_);
  }
  return max_;
}

}  // namespace todo::sim
