// The report: the counts it prints are the ones recorded, in text and in JSON.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "sim/report.h"

namespace todo::sim {
namespace {

RunInfo Info() {
  RunInfo info;
  info.server = "http://127.0.0.1:8080";
  info.developers = 2;
  info.managers = 1;
  info.delay = "10ms";
  info.duration = "3s";
  info.mix = "add=45,remove=45,list=10";
  info.seed = 42;
  info.connections = 64;
  info.prefix = "s1";
  info.elapsed_seconds = 2.0;
  return info;
}

Stats SomeStats() {
  Stats stats;
  stats.Record(OpKind::kAdd, Micros(1000), core::Status::Ok(), 1);
  stats.Record(OpKind::kAdd, Micros(3000), core::Status::Ok(), 2);
  stats.Record(OpKind::kRemove, Micros(2000), core::Status::Unavailable("lost connection"), 5);
  stats.Record(OpKind::kUsers, Micros(500), core::Status::Ok(), 1);
  return stats;
}

TEST(StatsTest, CountsOpsErrorsAndRetries) {
  Stats stats = SomeStats();
  EXPECT_EQ(stats.total_ops(), 4);
  EXPECT_EQ(stats.ops(OpKind::kAdd), 2);
  EXPECT_EQ(stats.errors(), 1);
  EXPECT_EQ(stats.retried(), 2);
  ASSERT_EQ(stats.errors_by_code().count("unavailable"), 1u);
  EXPECT_EQ(stats.errors_by_code().at("unavailable").count, 1);
  EXPECT_EQ(stats.errors_by_code().at("unavailable").first_message, "lost connection");
  EXPECT_EQ(stats.overall().count(), 4);
  EXPECT_EQ(stats.overall().max(), 3000);
  Stats::Interval interval = stats.TakeInterval();
  EXPECT_EQ(interval.ops, 4);
  EXPECT_EQ(stats.TakeInterval().ops, 0);
  EXPECT_EQ(stats.total_ops(), 4);
}

TEST(ReportTest, JsonHoldsTheCounts) {
  Stats stats = SomeStats();
  stats.RecordExchange(Micros(1500));
  CheckReport check;
  check.acknowledged = 7;
  check.maybe = 1;
  boost::json::object o = JsonReport(Info(), stats, &check);
  // Through text and back, as a consumer reads it.
  boost::json::value v = boost::json::parse(boost::json::serialize(o));
  EXPECT_EQ(v.at("ops").at("add").as_int64(), 2);
  EXPECT_EQ(v.at("ops").at("total").as_int64(), 4);
  EXPECT_DOUBLE_EQ(v.at("throughput_ops_s").as_double(), 2.0);
  EXPECT_EQ(v.at("errors").at("total").as_int64(), 1);
  EXPECT_EQ(v.at("errors").at("by_code").at("unavailable").at("count").as_int64(), 1);
  EXPECT_DOUBLE_EQ(v.at("latency_ms").at("add").at("max").as_double(), 3.0);
  EXPECT_EQ(v.at("latency_ms").at("all").at("count").as_int64(), 4);
  EXPECT_EQ(v.at("exchange_ms").at("count").as_int64(), 1);
  EXPECT_DOUBLE_EQ(v.at("exchange_ms").at("max").as_double(), 1.5);
  EXPECT_TRUE(v.at("checker").at("ok").as_bool());
  EXPECT_EQ(v.at("checker").at("acknowledged").as_int64(), 7);
  EXPECT_EQ(v.at("checker").at("lost").as_int64(), 0);
  EXPECT_EQ(v.at("seed").to_number<uint64_t>(), 42u);
  EXPECT_TRUE(v.at("rate").is_null());
  EXPECT_TRUE(JsonReport(Info(), stats, nullptr).at("checker").is_null());
}

TEST(ReportTest, TextHasTheVerdictAndTheViolations) {
  Stats stats = SomeStats();
  CheckReport check;
  check.acknowledged = 7;
  check.counts[static_cast<int>(ViolationKind::kLost)] = 1;
  check.violations.push_back(Violation{ViolationKind::kLost, "s1-dev0001: 1 task missing"});
  std::string text = TextReport(Info(), stats, &check);
  EXPECT_NE(text.find("4 operations, 2.0 ops/s"), std::string::npos) << text;
  EXPECT_NE(text.find("unavailable 1"), std::string::npos) << text;
  EXPECT_NE(text.find("\nchecker: FAILED acknowledged=7 maybe=0 lost=1 "), std::string::npos)
      << text;
  EXPECT_NE(text.find("  lost: s1-dev0001: 1 task missing\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nadd "), std::string::npos) << text;
  EXPECT_EQ(text.find("\nlist "), std::string::npos) << text;  // no lists, no row
}

}  // namespace
}  // namespace todo::sim
