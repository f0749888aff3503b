// Time formats and the small enums of core/task.h.
#include <gtest/gtest.h>

#include <string>

#include "core/task.h"

namespace todo::core {
namespace {

using std::chrono::days;
using std::chrono::milliseconds;

// 2026-11-29T08:15:34.859Z
constexpr int64_t kSampleMillis = 1795940134859;

TEST(Iso8601Test, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatIso8601(FromMillis(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(FromMillis(kSampleMillis)), "2026-11-29T08:15:34.859Z");
  EXPECT_EQ(FormatIso8601(FromMillis(-1)), "1969-12-31T23:59:59.999Z");
}

TEST(Iso8601Test, RoundTrips) {
  for (int64_t ms : {int64_t{0}, int64_t{1}, kSampleMillis, int64_t{-1}, int64_t{951782400000},
                     int64_t{253402300799999}}) {
    Result<TimePoint> parsed = ParseIso8601(FormatIso8601(FromMillis(ms)));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(ToMillis(*parsed), ms);
  }
}

TEST(Iso8601Test, MillisecondsAreOptionalOnInput) {
  Result<TimePoint> t = ParseIso8601("2026-11-29T08:15:34Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(ToMillis(*t), kSampleMillis - 859);
}

TEST(Iso8601Test, RejectsInvalid) {
  for (std::string_view bad :
       {"", "2026-11-29", "2026-11-29T08:15:34", "2026-11-29T08:15:34.859", "2026-11-29 08:15:34Z",
        "2026-11-29T08:15:34.85Z", "2026-11-29T08:15:34.8591Z", "2026-11-29T08:15:34ZZ",
        "2026-11-29T08:15:34+01:00", "2026-02-30T00:00:00Z", "2026-11-29T25:00:00Z",
        "2026-11-29T08:60:00Z", "2026-11-29T08:15:60Z", "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z", "26-11-29T08:15:34Z"}) {
    Result<TimePoint> t = ParseIso8601(bad);
    EXPECT_EQ(t.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(Iso8601Test, LeapDays) {
  EXPECT_TRUE(ParseIso8601("2024-02-29T00:00:00Z").ok());
  EXPECT_TRUE(ParseIso8601("2000-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseIso8601("2026-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseIso8601("1900-02-29T00:00:00Z").ok());
}

TEST(OriginTimeTest, FormatsSecondsAndDropsMilliseconds) {
  EXPECT_EQ(FormatOriginTime(FromMillis(kSampleMillis)), "2026-11-29:08:15:34");
}

TEST(OriginTimeTest, RoundTripsToTheSecond) {
  Result<TimePoint> t = ParseOriginTime("2026-11-29:08:15:34");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(ToMillis(*t), kSampleMillis - 859);
  EXPECT_EQ(FormatOriginTime(*t), "2026-11-29:08:15:34");
}

TEST(OriginTimeTest, RejectsInvalid) {
  for (std::string_view bad :
       {"", "2026-02-30:00:00:00", "2026-11-29:25:00:00", "2026-11-29:08:15", "2026-11-29T08:15:34",
        "2026-11-29:08:15:34Z", "2026-11-29:08:15:34.000", " 2026-11-29:08:15:34"}) {
    EXPECT_EQ(ParseOriginTime(bad).status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(DateTest, FormatsAndParsesDays) {
  EXPECT_EQ(FormatDate(FromMillis(kSampleMillis)), "2026-11-29");
  Result<TimePoint> t = ParseDate("2026-11-29");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, std::chrono::floor<days>(FromMillis(kSampleMillis)));
  EXPECT_EQ(FormatIso8601(*t), "2026-11-29T00:00:00.000Z");
}

TEST(DateTest, RejectsInvalid) {
  for (std::string_view bad : {"", "2026-02-30", "2026-13-01", "2026-1-01", "2026-11-29 ",
                               "2026/11/29", "2026-11-29:00:00:00"}) {
    EXPECT_EQ(ParseDate(bad).status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(TimeTest, NowIsWholeMilliseconds) {
  TimePoint now = Now();
  auto system_now = std::chrono::system_clock::now();
  EXPECT_LE(now.time_since_epoch(),
            std::chrono::duration_cast<milliseconds>(system_now.time_since_epoch()));
  EXPECT_GT(ToMillis(now), kSampleMillis - int64_t{10} * 365 * 86400000);
}

TEST(TaskEnumsTest, RolesRoundTrip) {
  for (Role r : {Role::kDeveloper, Role::kManager, Role::kAdmin}) {
    Result<Role> parsed = ParseRole(RoleName(r));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, r);
  }
  EXPECT_EQ(RoleName(Role::kManager), "manager");
  EXPECT_EQ(ParseRole("Admin").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(CanReadAll(Role::kAdmin));
  EXPECT_FALSE(CanReadAll(Role::kDeveloper));
  EXPECT_TRUE(CanWriteTasks(Role::kDeveloper));
  EXPECT_FALSE(CanWriteTasks(Role::kManager));
}

TEST(TaskEnumsTest, EventKindsRoundTrip) {
  for (EventKind k : {EventKind::kCreated, EventKind::kEdited, EventKind::kDone, EventKind::kUndone,
                      EventKind::kRemoved}) {
    Result<EventKind> parsed = ParseEventKind(EventKindName(k));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, k);
  }
  EXPECT_EQ(EventKindName(EventKind::kUndone), "undone");
  EXPECT_FALSE(ParseEventKind("deleted").ok());
}

TEST(TaskEnumsTest, TaskStatesRoundTrip) {
  for (TaskState s : {TaskState::kOpen, TaskState::kDone, TaskState::kAll}) {
    Result<TaskState> parsed = ParseTaskState(TaskStateName(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_FALSE(ParseTaskState("closed").ok());
}

}  // namespace
}  // namespace todo::core
