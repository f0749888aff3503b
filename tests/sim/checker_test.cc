// The history checker on hand-made histories: every kind of violation is caught, and clean
// histories (with maybe-adds present or absent, maybe-removes explaining missing tasks) pass.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/checker.h"
#include "sim/history.h"

namespace todo::sim {
namespace {

core::Task T(int64_t id, const std::string& user, const std::string& text) {
  core::Task t;
  t.id = id;
  t.user = user;
  t.text = text;
  t.created = core::FromMillis(1'700'000'000'000 + id);
  t.updated = t.created;
  return t;
}

class CheckerTest : public ::testing::Test {
 protected:
  // The manager sees exactly what the developers see, unless a test says otherwise.
  CheckReport Check(bool manager_agrees = true) {
    if (manager_agrees) {
      final_.manager.clear();
      for (const auto& tasks : final_.developers) {
        final_.manager.insert(final_.manager.end(), tasks.begin(), tasks.end());
      }
    }
    return CheckHistory(h_, final_);
  }
  std::vector<core::Task>& FinalOf(int dev) { return final_.developers[dev]; }

  History h_;
  int a_ = h_.AddDeveloper("s1-dev0001");
  int b_ = h_.AddDeveloper("s1-dev0002");
  FinalState final_{{{}, {}}, {}};
};

std::string Describe(const CheckReport& r) {
  std::string out = VerdictLine(r);
  for (const auto& v : r.violations) out += "\n  " + std::string(ViolationKindName(v.kind)) + ": " + v.detail;
  return out;
}

// --- clean histories ---

TEST_F(CheckerTest, CleanHistoryPasses) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  h_.RecordAdd(a_, "a #2", Outcome::kOk, 2);
  h_.RecordAdd(b_, "b #1", Outcome::kOk, 3);
  h_.RecordRemove(a_, 1, Outcome::kOk, {1});
  h_.RecordRemove(b_, 1, Outcome::kOk, {});  // nothing left to remove is fine
  h_.RecordList(a_, {T(2, "s1-dev0001", "a #2")});
  h_.RecordOwner(3, "s1-dev0002");
  h_.RecordAdd(b_, "", Outcome::kFailed);  // refused (400) and absent
  FinalOf(a_) = {T(2, "s1-dev0001", "a #2")};
  FinalOf(b_) = {T(3, "s1-dev0002", "b #1")};
  CheckReport r = Check();
  EXPECT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r.acknowledged, 5);
  EXPECT_EQ(r.maybe, 0);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(VerdictLine(r),
            "checker: ok acknowledged=5 maybe=0 lost=0 duplicated=0 leaked=0 unexpected=0 "
            "mismatched=0");
}

TEST_F(CheckerTest, EmptyHistoryPasses) {
  CheckReport r = Check();
  EXPECT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r.acknowledged, 0);
}

TEST_F(CheckerTest, MaybeAddPresentOnceIsApplied) {
  h_.RecordAdd(a_, "a #1", Outcome::kMaybe);
  FinalOf(a_) = {T(7, "s1-dev0001", "a #1")};
  CheckReport r = Check();
  EXPECT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r.maybe, 1);
  EXPECT_EQ(r.maybe_applied, 1);
}

TEST_F(CheckerTest, MaybeAddAbsentIsFine) {
  h_.RecordAdd(a_, "a #1", Outcome::kMaybe);
  CheckReport r = Check();
  EXPECT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r.maybe, 1);
  EXPECT_EQ(r.maybe_applied, 0);
}

TEST_F(CheckerTest, MaybeRemovesExplainMissingTasks) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  h_.RecordAdd(a_, "a #2", Outcome::kOk, 2);
  h_.RecordAdd(a_, "a #3", Outcome::kOk, 3);
  h_.RecordRemove(a_, 1, Outcome::kMaybe);
  h_.RecordRemove(a_, 1, Outcome::kMaybe);
  FinalOf(a_) = {T(3, "s1-dev0001", "a #3")};
  CheckReport r = Check();
  EXPECT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r.maybe, 2);
}

TEST_F(CheckerTest, TasksFromBeforeTheRunAreExpected) {
  h_.RecordExisting(a_, T(1, "s1-dev0001", "from an earlier run"));
  h_.RecordExisting(a_, T(2, "s1-dev0001", "from an earlier run too"));
  h_.RecordRemove(a_, 1, Outcome::kOk, {1});
  FinalOf(a_) = {T(2, "s1-dev0001", "from an earlier run too")};
  CheckReport r = Check();
  EXPECT_TRUE(r.ok()) << Describe(r);
}

TEST_F(CheckerTest, TasksOfUsersOutsideTheRunAreIgnored) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  FinalOf(a_) = {T(1, "s1-dev0001", "a #1")};
  final_.manager = {T(1, "s1-dev0001", "a #1"), T(2, "someone-else", "not ours")};
  h_.RecordOwner(2, "someone-else");
  CheckReport r = Check(/*manager_agrees=*/false);
  EXPECT_TRUE(r.ok()) << Describe(r);
}

// --- lost ---

TEST_F(CheckerTest, AcknowledgedAddMissingIsLost) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  h_.RecordAdd(a_, "a #2", Outcome::kOk, 2);
  FinalOf(a_) = {T(2, "s1-dev0001", "a #2")};
  CheckReport r = Check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.count(ViolationKind::kLost), 1) << Describe(r);
  EXPECT_TRUE(VerdictLine(r).starts_with("checker: FAILED ")) << VerdictLine(r);
}

TEST_F(CheckerTest, MaybeRemovesExplainAtMostTheirCount) {
  for (int i = 1; i <= 3; ++i) h_.RecordAdd(a_, "a #" + std::to_string(i), Outcome::kOk, i);
  h_.RecordRemove(a_, 1, Outcome::kMaybe);
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kLost), 2) << Describe(r);
}

TEST_F(CheckerTest, RefusedRemoveExplainsNothing) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  h_.RecordRemove(a_, 1, Outcome::kFailed);
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kLost), 1) << Describe(r);
}

TEST_F(CheckerTest, AnotherDevelopersMaybeRemoveExplainsNothing) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  h_.RecordRemove(b_, 5, Outcome::kMaybe);
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kLost), 1) << Describe(r);
}

TEST_F(CheckerTest, TaskFromBeforeTheRunMissingIsLost) {
  h_.RecordExisting(a_, T(1, "s1-dev0001", "old"));
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kLost), 1) << Describe(r);
}

// --- duplicated ---

TEST_F(CheckerTest, SameIdTwiceInFinalStateIsDuplicated) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  FinalOf(a_) = {T(1, "s1-dev0001", "a #1"), T(1, "s1-dev0001", "a #1")};
  CheckReport r = Check();
  EXPECT_GE(r.count(ViolationKind::kDuplicated), 1) << Describe(r);
}

TEST_F(CheckerTest, SameTextTwiceInFinalStateIsDuplicated) {
  // A retried add applied twice: the idempotency key did not hold.
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  FinalOf(a_) = {T(1, "s1-dev0001", "a #1"), T(2, "s1-dev0001", "a #1")};
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kDuplicated), 1) << Describe(r);
}

TEST_F(CheckerTest, MaybeAddPresentTwiceIsDuplicated) {
  h_.RecordAdd(a_, "a #1", Outcome::kMaybe);
  FinalOf(a_) = {T(1, "s1-dev0001", "a #1"), T(2, "s1-dev0001", "a #1")};
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kDuplicated), 1) << Describe(r);
}

TEST_F(CheckerTest, TwoAcknowledgedAddsWithOneIdAreDuplicated) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  h_.RecordAdd(a_, "a #2", Outcome::kOk, 1);
  FinalOf(a_) = {T(1, "s1-dev0001", "a #1")};
  CheckReport r = Check();
  EXPECT_GE(r.count(ViolationKind::kDuplicated), 1) << Describe(r);
}

TEST_F(CheckerTest, IdRemovedTwiceIsDuplicated) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  h_.RecordRemove(a_, 1, Outcome::kOk, {1});
  h_.RecordRemove(a_, 1, Outcome::kOk, {1});
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kDuplicated), 1) << Describe(r);
  EXPECT_EQ(r.count(ViolationKind::kLost), 0) << Describe(r);
}

TEST_F(CheckerTest, RemovedButStillPresentIsDuplicated) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  h_.RecordAdd(a_, "a #2", Outcome::kOk, 2);
  h_.RecordRemove(a_, 1, Outcome::kOk, {1});
  FinalOf(a_) = {T(1, "s1-dev0001", "a #1"), T(2, "s1-dev0001", "a #2")};
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kDuplicated), 1) << Describe(r);
}

// --- unexpected ---

TEST_F(CheckerTest, TaskNobodyAddedIsUnexpected) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  FinalOf(a_) = {T(1, "s1-dev0001", "a #1"), T(9, "s1-dev0001", "never added")};
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kUnexpected), 1) << Describe(r);
}

TEST_F(CheckerTest, RefusedAddPresentIsUnexpected) {
  h_.RecordAdd(a_, "a #1", Outcome::kFailed);
  FinalOf(a_) = {T(1, "s1-dev0001", "a #1")};
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kUnexpected), 1) << Describe(r);
}

TEST_F(CheckerTest, AnotherDevelopersTextIsUnexpected) {
  h_.RecordAdd(b_, "b #1", Outcome::kMaybe);
  FinalOf(a_) = {T(1, "s1-dev0001", "b #1")};
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kUnexpected), 1) << Describe(r);
}

TEST_F(CheckerTest, ChangedTextIsUnexpected) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  h_.RecordAdd(a_, "a #2", Outcome::kMaybe);
  FinalOf(a_) = {T(1, "s1-dev0001", "a #2")};
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kUnexpected), 1) << Describe(r);
}

// --- leaked ---

TEST_F(CheckerTest, AnotherDevelopersTaskInAListIsLeaked) {
  h_.RecordAdd(b_, "b #1", Outcome::kOk, 3);
  h_.RecordList(a_, {T(3, "s1-dev0002", "b #1")});
  FinalOf(b_) = {T(3, "s1-dev0002", "b #1")};
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kLeaked), 1) << Describe(r);
  EXPECT_EQ(r.count(ViolationKind::kLost), 0);
}

TEST_F(CheckerTest, ATaskOfSomeoneOutsideTheRunInAListIsLeaked) {
  h_.RecordList(a_, {T(3, "stranger", "theirs")});
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kLeaked), 1) << Describe(r);
}

TEST_F(CheckerTest, AnotherDevelopersTaskInTheFinalListIsLeaked) {
  h_.RecordAdd(b_, "b #1", Outcome::kOk, 3);
  FinalOf(a_) = {T(3, "s1-dev0002", "b #1")};
  FinalOf(b_) = {T(3, "s1-dev0002", "b #1")};
  final_.manager = {T(3, "s1-dev0002", "b #1")};
  CheckReport r = Check(/*manager_agrees=*/false);
  EXPECT_GE(r.count(ViolationKind::kLeaked), 1) << Describe(r);
}

TEST_F(CheckerTest, RemoveReturningAnotherDevelopersIdIsLeaked) {
  h_.RecordAdd(b_, "b #1", Outcome::kOk, 3);
  h_.RecordRemove(a_, 1, Outcome::kOk, {3});
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kLeaked), 1) << Describe(r);
  EXPECT_EQ(r.count(ViolationKind::kLost), 1) << Describe(r);  // b's task is gone too
}

TEST_F(CheckerTest, RemoveOfATaskKnownOnlyFromTheChangeLogIsLeaked) {
  h_.RecordAdd(b_, "b #1", Outcome::kMaybe);
  h_.RecordOwner(4, "s1-dev0002");  // a manager saw b's maybe-add created as task 4
  h_.RecordRemove(a_, 1, Outcome::kOk, {4});
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kLeaked), 1) << Describe(r);
}

TEST_F(CheckerTest, ATaskSeenWithTwoOwnersIsLeaked) {
  h_.RecordOwner(5, "s1-dev0001");
  h_.RecordOwner(5, "s1-dev0002");
  h_.RecordOwner(5, "s1-dev0002");               // seen again: reported once
  h_.RecordList(b_, {T(5, "s1-dev0002", "x")});  // a list of its new owner
  CheckReport r = Check();
  EXPECT_EQ(r.count(ViolationKind::kLeaked), 1) << Describe(r);
}

// --- manager mismatch ---

TEST_F(CheckerTest, TaskMissingFromTheManagersViewIsAMismatch) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  h_.RecordAdd(b_, "b #1", Outcome::kOk, 2);
  FinalOf(a_) = {T(1, "s1-dev0001", "a #1")};
  FinalOf(b_) = {T(2, "s1-dev0002", "b #1")};
  final_.manager = {T(1, "s1-dev0001", "a #1")};
  CheckReport r = Check(/*manager_agrees=*/false);
  EXPECT_EQ(r.count(ViolationKind::kMismatch), 1) << Describe(r);
}

TEST_F(CheckerTest, ExtraTaskInTheManagersViewIsAMismatch) {
  h_.RecordAdd(a_, "a #1", Outcome::kMaybe);
  final_.manager = {T(1, "s1-dev0001", "a #1")};
  CheckReport r = Check(/*manager_agrees=*/false);
  EXPECT_EQ(r.count(ViolationKind::kMismatch), 1) << Describe(r);
}

TEST_F(CheckerTest, DifferentContentInTheManagersViewIsAMismatch) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  FinalOf(a_) = {T(1, "s1-dev0001", "a #1")};
  core::Task done = T(1, "s1-dev0001", "a #1");
  done.done = done.updated;
  final_.manager = {done};
  CheckReport r = Check(/*manager_agrees=*/false);
  EXPECT_EQ(r.count(ViolationKind::kMismatch), 1) << Describe(r);
}

TEST_F(CheckerTest, TaskTwiceInTheManagersViewIsAMismatch) {
  h_.RecordAdd(a_, "a #1", Outcome::kOk, 1);
  FinalOf(a_) = {T(1, "s1-dev0001", "a #1")};
  final_.manager = {T(1, "s1-dev0001", "a #1"), T(1, "s1-dev0001", "a #1")};
  CheckReport r = Check(/*manager_agrees=*/false);
  EXPECT_EQ(r.count(ViolationKind::kMismatch), 1) << Describe(r);
}

// --- outcomes ---

TEST(OutcomeOfTest, ClassifiesAnswers) {
  EXPECT_EQ(OutcomeOf(core::Status::Ok(), 201), Outcome::kOk);
  EXPECT_EQ(OutcomeOf(core::Status::InvalidArgument("empty"), 400), Outcome::kFailed);
  EXPECT_EQ(OutcomeOf(core::Status::Conflict("key reused"), 409), Outcome::kFailed);
  EXPECT_EQ(OutcomeOf(core::Status::Unavailable("connection lost"), 0), Outcome::kMaybe);
  EXPECT_EQ(OutcomeOf(core::Status::Unavailable("database down"), 503), Outcome::kMaybe);
  EXPECT_EQ(OutcomeOf(core::Status::Internal("oops"), 500), Outcome::kMaybe);
  // A 2xx the client could not read was applied, but its id is unknown.
  EXPECT_EQ(OutcomeOf(core::Status::Internal("malformed JSON"), 201), Outcome::kMaybe);
}

TEST(HistoryTest, KeepsTheFirstOnlineViolationsAndCountsAll) {
  History h;
  int a = h.AddDeveloper("a");
  std::vector<core::Task> theirs;
  for (int i = 0; i < 1500; ++i) theirs.push_back(T(i + 1, "b", "x"));
  h.RecordList(a, theirs);
  EXPECT_EQ(h.online_violation_count(), 1500);
  EXPECT_EQ(h.online_violations().size(), History::kMaxKept);
  CheckReport r = CheckHistory(h, FinalState{{{}}, {}});
  EXPECT_EQ(r.count(ViolationKind::kLeaked), 1500);
  EXPECT_EQ(r.violations.size(), History::kMaxKept);
}

}  // namespace
}  // namespace todo::sim
