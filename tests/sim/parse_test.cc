// The command line's little languages: durations, the workload mix, the account file.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sim/accounts.h"
#include "sim/duration.h"
#include "sim/mix.h"

namespace todo::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(DurationTest, ParsesUnits) {
  EXPECT_EQ(ParseDuration("1s").value(), seconds(1));
  EXPECT_EQ(ParseDuration("250ms").value(), milliseconds(250));
  EXPECT_EQ(ParseDuration("0").value(), Micros(0));
  EXPECT_EQ(ParseDuration("0ms").value(), Micros(0));
  EXPECT_EQ(ParseDuration("3").value(), seconds(3));  // a bare number is seconds
  EXPECT_EQ(ParseDuration("1.5s").value(), milliseconds(1500));
  EXPECT_EQ(ParseDuration(".5s").value(), milliseconds(500));
  EXPECT_EQ(ParseDuration("0.25").value(), milliseconds(250));
  EXPECT_EQ(ParseDuration("2m").value(), seconds(120));
  EXPECT_EQ(ParseDuration("1h").value(), seconds(3600));
  EXPECT_EQ(ParseDuration("100us").value(), Micros(100));
  EXPECT_EQ(ParseDuration("10ms").value(), milliseconds(10));
}

TEST(DurationTest, RejectsBadInput) {
  for (const char* bad : {"", "s", "ms", "-1s", "+1s", "1x", "1 s", " 1s", "1s ", "1.s", "1e3",
                          "1,5s", "1.5.2s", "10sec", "99999999h", "0x10"}) {
    auto r = ParseDuration(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' was accepted";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), core::ErrorCode::kInvalidArgument);
    }
  }
}

TEST(DurationTest, FormatsAndRoundTrips) {
  EXPECT_EQ(FormatDuration(seconds(1)), "1s");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(Micros(0)), "0");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(seconds(120)), "2m");
  EXPECT_EQ(FormatDuration(seconds(90)), "90s");
  EXPECT_EQ(FormatDuration(Micros(1500)), "1500us");
  for (int64_t us : {0LL, 1LL, 999LL, 1000LL, 1001000LL, 59999000LL, 7200000000LL}) {
    EXPECT_EQ(ParseDuration(FormatDuration(Micros(us))).value(), Micros(us)) << us;
  }
}

TEST(MixTest, ParsesWeights) {
  auto mix = ParseMix("add=45,remove=45,list=10");
  ASSERT_TRUE(mix.ok()) << mix.status().ToString();
  EXPECT_EQ(mix->weights[0], 45);
  EXPECT_EQ(mix->weights[1], 45);
  EXPECT_EQ(mix->weights[2], 10);
  EXPECT_EQ(mix->total(), 100);
  EXPECT_EQ(mix->ToString(), "add=45,remove=45,list=10");

  auto only_adds = ParseMix("add=1");
  ASSERT_TRUE(only_adds.ok());
  EXPECT_EQ(only_adds->ToString(), "add=1,remove=0,list=0");
  auto any_order = ParseMix("list=3,add=1");
  ASSERT_TRUE(any_order.ok());
  EXPECT_EQ(any_order->ToString(), "add=1,remove=0,list=3");
}

TEST(MixTest, RejectsBadInput) {
  for (const char* bad : {"", "add", "add=", "=5", "add=-1", "add=+1", "add=x", "add=1.5",
                          "foo=1", "ADD=1", "add=1,add=2", "add=0,remove=0", "add=0", "add=1,",
                          ",add=1", "add=1 ,remove=2", "add= 1", "add=1;remove=2",
                          "add=99999999"}) {
    auto r = ParseMix(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' was accepted";
  }
}

TEST(MixTest, PicksByWeight) {
  auto mix = ParseMix("add=1,remove=2,list=0").value();
  EXPECT_EQ(mix.Pick(0), DevOp::kAdd);
  EXPECT_EQ(mix.Pick(1), DevOp::kRemove);
  EXPECT_EQ(mix.Pick(2), DevOp::kRemove);
  EXPECT_EQ(mix.Pick(3), DevOp::kRemove);  // out of range: the last one with weight
  auto lists = ParseMix("list=5").value();
  for (uint64_t r = 0; r < 5; ++r) EXPECT_EQ(lists.Pick(r), DevOp::kList);
  // Over many draws the proportions follow the weights.
  auto standard = ParseMix("add=45,remove=45,list=10").value();
  int counts[3] = {};
  for (uint64_t r = 0; r < 10000; ++r) ++counts[static_cast<int>(standard.Pick(r % 100))];
  EXPECT_EQ(counts[0], 4500);
  EXPECT_EQ(counts[1], 4500);
  EXPECT_EQ(counts[2], 1000);
}

TEST(AccountsTest, NamesAreNumbered) {
  EXPECT_EQ(DeveloperName("s1a2b", 0), "s1a2b-dev0001");
  EXPECT_EQ(DeveloperName("s1a2b", 999), "s1a2b-dev1000");
  EXPECT_EQ(DeveloperName("p", 12344), "p-dev12345");
  EXPECT_EQ(ManagerName("s1a2b", 0), "s1a2b-mgr01");
  EXPECT_EQ(ManagerName("s1a2b", 99), "s1a2b-mgr100");
}

TEST(AccountsTest, FileRoundTrips) {
  std::vector<Account> accounts = {{"s1-dev0001", core::Role::kDeveloper, "tok1"},
                                   {"s1-mgr01", core::Role::kManager, "tok2"}};
  std::string text = FormatAccounts(accounts);
  auto parsed = ParseAccounts(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, accounts);
  auto with_noise = ParseAccounts("# comment\n\n  developer\ts1-dev0001  tok1 \r\n");
  ASSERT_TRUE(with_noise.ok()) << with_noise.status().ToString();
  ASSERT_EQ(with_noise->size(), 1u);
  EXPECT_EQ((*with_noise)[0].token, "tok1");
  EXPECT_TRUE(ParseAccounts("").ok());
}

TEST(AccountsTest, RejectsBadLines) {
  for (const char* bad : {"developer s1-dev0001", "developer s1-dev0001 tok extra",
                          "boss s1-dev0001 tok", "developer -bad tok",
                          "developer a tok\nmanager a tok2"}) {
    auto r = ParseAccounts(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' was accepted";
  }
  auto r = ParseAccounts("# ok\ndeveloper a t\nnonsense\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 3"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace todo::sim
