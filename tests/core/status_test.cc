#include "core/status.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace todo::core {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_EQ(s, Status::Ok());
}

TEST(StatusTest, FactoriesSetCodeAndMessage) {
  EXPECT_EQ(Status::InvalidArgument("m").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Status::NotFound("m").code(), ErrorCode::kNotFound);
  EXPECT_EQ(Status::PermissionDenied("m").code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(Status::Unauthenticated("m").code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(Status::Conflict("m").code(), ErrorCode::kConflict);
  EXPECT_EQ(Status::TooLarge("m").code(), ErrorCode::kTooLarge);
  EXPECT_EQ(Status::Unavailable("m").code(), ErrorCode::kUnavailable);
  EXPECT_EQ(Status::Internal("m").code(), ErrorCode::kInternal);
  Status s = Status::NotFound("task 7 not found");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "task 7 not found");
  EXPECT_EQ(s.ToString(), "not_found: task 7 not found");
}

TEST(StatusTest, EqualityComparesCodeAndMessage) {
  EXPECT_EQ(Status::NotFound("a"), Status::NotFound("a"));
  EXPECT_NE(Status::NotFound("a"), Status::NotFound("b"));
  EXPECT_NE(Status::NotFound("a"), Status::Conflict("a"));
}

TEST(StatusTest, ErrorCodeNamesAreStableSnakeCase) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kOk), "ok");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kNotFound), "not_found");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kPermissionDenied), "permission_denied");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kUnauthenticated), "unauthenticated");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kConflict), "conflict");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kTooLarge), "too_large");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kUnavailable), "unavailable");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInternal), "internal");
}

TEST(StatusTest, ErrorCodeFromNameInvertsErrorCodeName) {
  for (ErrorCode c :
       {ErrorCode::kOk, ErrorCode::kInvalidArgument, ErrorCode::kNotFound,
        ErrorCode::kPermissionDenied, ErrorCode::kUnauthenticated, ErrorCode::kConflict,
        ErrorCode::kTooLarge, ErrorCode::kUnavailable, ErrorCode::kInternal}) {
    EXPECT_EQ(ErrorCodeFromName(ErrorCodeName(c)), c) << ErrorCodeName(c);
  }
  EXPECT_EQ(ErrorCodeFromName("no_such_code"), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeFromName("NotFound"), ErrorCode::kInternal);
}

TEST(ResultTest, DefaultConstructedIsAnInternalError) {
  Result<int> r;
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
}

TEST(ResultTest, HoldsAValue) {
  Result<std::string> r = std::string("hello");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(*r, "hello");
  EXPECT_EQ(r->size(), 5u);
  r.value() += "!";
  EXPECT_EQ(r.value(), "hello!");
  std::string moved = std::move(r).value();
  EXPECT_EQ(moved, "hello!");
}

TEST(ResultTest, HoldsAnError) {
  Result<int> r = Status::Conflict("name taken");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status(), Status::Conflict("name taken"));
}

TEST(ResultTest, OkStatusWithoutValueBecomesInternal) {
  Result<std::vector<int>> r = Status::Ok();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace todo::core
