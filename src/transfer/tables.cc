#include "transfer/tables.h"

#include <sodium.h>

#include <charconv>

#include "core/validate.h"

namespace todo::transfer {

const std::vector<Table>& Tables() {
  static const std::vector<Table> kTables = {
      Table{.name = "account",
            .columns = {{"name", Kind::kText},
                        {"role", Kind::kText},
                        {"token_hash", Kind::kText, true},
                        {"created", Kind::kTime}},
            .key_columns = 1,
            .label = "accounts"},
      Table{.name = "element",
            .columns = {{"id", Kind::kInt},
                        {"td_user", Kind::kText},
                        {"init_time", Kind::kTime},
                        {"last_update_time", Kind::kTime},
                        {"done_time", Kind::kTime, true},
                        {"task", Kind::kText}},
            .key_columns = 1,
            .label = "tasks"},
      Table{.name = "event",
            .columns = {{"id", Kind::kInt},
                        {"at", Kind::kTime},
                        {"td_user", Kind::kText},
                        {"actor", Kind::kText},
                        {"kind", Kind::kText},
                        {"task_id", Kind::kInt},
                        {"task", Kind::kText}},
            .key_columns = 1,
            .label = "events"},
      Table{.name = "request",
            .columns = {{"td_user", Kind::kText},
                        {"key", Kind::kText},
                        {"fingerprint", Kind::kText},
                        {"status", Kind::kInt},
                        {"body", Kind::kText},
                        {"at", Kind::kTime},
                        {"result", Kind::kText, true}},
            .key_columns = 2,
            .label = "requests"},
      Table{.name = "tally",
            .columns = {{"td_user", Kind::kText},
                        {"open_count", Kind::kInt},
                        {"done_count", Kind::kInt},
                        {"last_update_time", Kind::kTime}},
            .key_columns = 1,
            .label = "tallies"},
  };
  return kTables;
}

const Table* FindTable(std::string_view name) {
  for (const Table& table : Tables()) {
    if (table.name == name) return &table;
  }
  return nullptr;
}

std::string Summary::Describe() const {
  auto count = [this](const char* table) {
    auto it = rows.find(table);
    return std::to_string(it == rows.end() ? 0 : it->second);
  };
  return "accounts " + count("account") + ", tasks " + count("element") + ", events " +
         count("event") + ", requests " + count("request") + ", tallies " + count("tally") +
         ", sha256 " + sha256;
}

Summarizer::Summarizer() : state_(std::make_unique<crypto_hash_sha256_state>()) {
  crypto_hash_sha256_init(state_.get());
  for (const Table& table : Tables()) summary_.rows[std::string(table.name)] = 0;
}

Summarizer::~Summarizer() = default;

void Summarizer::Add(const Table& table, const std::vector<Row>& rows) {
  // Framing: table name, then per cell "N" for NULL or "<length>:" and the bytes, then a
  // newline per row, so that no two different row sets hash the same input.
  std::string frame;
  for (const Row& row : rows) {
    frame.assign(table.name);
    frame += '|';
    for (const Cell& cell : row) {
      if (!cell) {
        frame += 'N';
        continue;
      }
      frame += std::to_string(cell->size());
      frame += ':';
      frame += *cell;
    }
    frame += '\n';
    crypto_hash_sha256_update(state_.get(), reinterpret_cast<const unsigned char*>(frame.data()),
                              frame.size());
    if (table.name == "element" && row.size() > 1 && row[1]) ++summary_.tasks_per_user[*row[1]];
  }
  summary_.rows[std::string(table.name)] += static_cast<int64_t>(rows.size());
}

Summary Summarizer::Finish() {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(state_.get(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  summary_.sha256.clear();
  for (unsigned char byte : digest) {
    summary_.sha256 += kHex[byte >> 4];
    summary_.sha256 += kHex[byte & 0xf];
  }
  return summary_;
}

std::string Difference(const Summary& source, const Summary& target) {
  for (const auto& [table, count] : source.rows) {
    auto it = target.rows.find(table);
    int64_t theirs = it == target.rows.end() ? 0 : it->second;
    if (theirs != count) {
      return table + ": " + std::to_string(count) + " rows in the source, " +
             std::to_string(theirs) + " in the target";
    }
  }
  if (source.tasks_per_user != target.tasks_per_user) {
    for (const auto& [user, count] : source.tasks_per_user) {
      auto it = target.tasks_per_user.find(user);
      int64_t theirs = it == target.tasks_per_user.end() ? 0 : it->second;
      if (theirs != count) {
        return "user " + user + ": " + std::to_string(count) + " tasks in the source, " +
               std::to_string(theirs) + " in the target";
      }
    }
    return "the target has tasks of users the source has none of";
  }
  if (source.sha256 != target.sha256) {
    return "checksums differ: source " + source.sha256 + ", target " + target.sha256;
  }
  return "";
}

namespace {

bool IsDecimal(const std::string& text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

Status CheckRow(const Table& table, const Row& row) {
  std::string where = "a row of table " + std::string(table.name);
  if (row.size() != table.columns.size()) {
    return Status::InvalidArgument(where + " has " + std::to_string(row.size()) + " values, not " +
                                   std::to_string(table.columns.size()));
  }
  for (std::size_t i = 0; i < row.size(); ++i) {
    const Column& column = table.columns[i];
    if (!row[i]) {
      if (column.nullable) continue;
      return Status::InvalidArgument(where + " has no " + std::string(column.name));
    }
    if (column.kind != Kind::kText && !IsDecimal(*row[i])) {
      return Status::InvalidArgument(where + ": " + std::string(column.name) +
                                     " is not an integer: '" + *row[i] + "'");
    }
    if (column.kind == Kind::kText && !core::IsValidUtf8(*row[i])) {
      return Status::InvalidArgument(where + ": " + std::string(column.name) +
                                     " is not UTF-8 text");
    }
  }
  return Status::Ok();
}

}  // namespace todo::transfer
