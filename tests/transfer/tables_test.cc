// The transfer's pure logic: the summary both ends of a copy compute, how two summaries are
// compared, and the checks on rows read from a backup file.

#include "transfer/tables.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace todo::transfer {
namespace {

const Table& Element() { return *FindTable("element"); }

Row Task(int64_t id, const std::string& user, const std::string& text) {
  return {std::to_string(id), user, "1000", "1000", std::nullopt, text};
}

Summary SummaryOf(const std::vector<Row>& tasks) {
  Summarizer summarizer;
  for (const Table& table : Tables()) {
    summarizer.Add(table, table.name == "element" ? tasks : std::vector<Row>{});
  }
  return summarizer.Finish();
}

TEST(Summary, CountsRowsAndTasksPerUserAndHashesEveryCell) {
  Summary summary = SummaryOf({Task(1, "alice", "a"), Task(2, "bob", "b"), Task(3, "alice", "c")});
  EXPECT_EQ(summary.rows.at("element"), 3);
  EXPECT_EQ(summary.rows.at("account"), 0);
  EXPECT_EQ(summary.tasks_per_user.at("alice"), 2);
  EXPECT_EQ(summary.tasks_per_user.at("bob"), 1);
  EXPECT_EQ(summary.sha256.size(), 64u);
  EXPECT_EQ(summary,
            SummaryOf({Task(1, "alice", "a"), Task(2, "bob", "b"), Task(3, "alice", "c")}));
  EXPECT_NE(summary.Describe().find("tasks 3,"), std::string::npos) << summary.Describe();
}

TEST(Summary, AnyDifferenceInACellChangesTheChecksum) {
  Summary base = SummaryOf({Task(1, "alice", "ab")});
  EXPECT_NE(SummaryOf({Task(1, "alice", "ac")}).sha256, base.sha256);
  EXPECT_NE(SummaryOf({Task(2, "alice", "ab")}).sha256, base.sha256);
  // Framing: moving a byte from one cell to the next is a difference.
  EXPECT_NE(SummaryOf({Task(1, "alicea", "b")}).sha256, base.sha256);
  // NULL is not "".
  Row empty_done = Task(1, "alice", "ab");
  empty_done[4] = std::string();
  EXPECT_NE(SummaryOf({empty_done}).sha256, base.sha256);
}

TEST(Difference, NamesWhatDiffers) {
  Summary source = SummaryOf({Task(1, "alice", "a"), Task(2, "bob", "b")});
  EXPECT_EQ(Difference(source, source), "");
  EXPECT_NE(Difference(source, SummaryOf({Task(1, "alice", "a")})).find("element: 2 rows"),
            std::string::npos);
  EXPECT_NE(Difference(source, SummaryOf({Task(1, "alice", "a"), Task(2, "alice", "b")}))
                .find("user alice"),
            std::string::npos);
  EXPECT_NE(Difference(source, SummaryOf({Task(1, "alice", "a"), Task(2, "bob", "x")}))
                .find("checksums differ"),
            std::string::npos);
}

TEST(CheckRow, RefusesRowsThatDoNotFitTheSchema) {
  EXPECT_TRUE(CheckRow(Element(), Task(1, "alice", "a")).ok());
  Row short_row = Task(1, "alice", "a");
  short_row.pop_back();
  EXPECT_FALSE(CheckRow(Element(), short_row).ok());
  Row bad_id = Task(1, "alice", "a");
  bad_id[0] = "12x";
  EXPECT_NE(CheckRow(Element(), bad_id).message().find("id is not an integer"), std::string::npos);
  Row null_text = Task(1, "alice", "a");
  null_text[5] = std::nullopt;
  EXPECT_FALSE(CheckRow(Element(), null_text).ok());
  Row bad_utf8 = Task(1, "alice", "\xff");
  EXPECT_FALSE(CheckRow(Element(), bad_utf8).ok());
}

TEST(Tables, KeysComeFirstAndEveryTableIsFound) {
  for (const Table& table : Tables()) {
    EXPECT_EQ(FindTable(table.name), &table);
    EXPECT_GE(table.key_columns, 1u);
    EXPECT_LE(table.key_columns, table.columns.size());
    EXPECT_FALSE(table.label.empty());
  }
  EXPECT_EQ(FindTable("nope"), nullptr);
}

}  // namespace
}  // namespace todo::transfer
