#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include "transfer/backup.h"

namespace todo::transfer {
namespace {

namespace json = boost::json;

constexpr char kSqliteMagic[] = "SQLite format 3";  // and a NUL: the first 16 bytes

json::object CountsToJson(const std::map<std::string, int64_t>& counts) {
  json::object out;
  for (const auto& [name, count] : counts) out[name] = count;
  return out;
}

Result<std::map<std::string, int64_t>> CountsFromJson(const json::value& value) {
  std::map<std::string, int64_t> out;
  if (!value.is_object()) return Status::InvalidArgument("counts are not an object");
  for (const auto& [name, count] : value.as_object()) {
    if (!count.is_int64()) return Status::InvalidArgument("a count is not an integer");
    out[std::string(name)] = count.as_int64();
  }
  return out;
}

json::value CellToJson(const Column& column, const Cell& cell) {
  if (!cell) return nullptr;
  if (column.kind == Kind::kText) return json::string(*cell);
  return std::stoll(*cell);
}

Result<Cell> CellFromJson(const Column& column, const json::value& value) {
  if (value.is_null()) return Cell();
  if (column.kind == Kind::kText) {
    if (!value.is_string())
      return Status::InvalidArgument(std::string(column.name) + " is not a string");
    return Cell(std::string(value.as_string()));
  }
  if (!value.is_int64())
    return Status::InvalidArgument(std::string(column.name) + " is not an integer");
  return Cell(std::to_string(value.as_int64()));
}

class BackupFileSource final : public Source {
 public:
  BackupFileSource(std::string path, std::ifstream in)
      : path_(std::move(path)), in_(std::move(in)) {}

  Result<SourceInfo> Begin() override {
    auto head = NextObject();
    if (!head.ok()) return head.status();
    if (!head->has_value()) return Corrupt("the file is empty");
    const json::object& h = **head;
    const json::value* format = h.if_contains("format");
    if (format == nullptr || !format->is_string() || format->as_string() != kBackupFormat) {
      return Corrupt("this is not a todo backup file (no \"format\":\"todo-backup\")");
    }
    const json::value* version = h.if_contains("version");
    if (version == nullptr || !version->is_int64() || version->as_int64() != kBackupVersion) {
      return Corrupt("unsupported backup format version (this program reads version " +
                     std::to_string(kBackupVersion) + ")");
    }
    try {
      SourceInfo info;
      info.position = h.at("position").as_int64();
      info.taken = core::FromMillis(h.at("taken_ms").as_int64());
      info.sequences = Sequences{.element = h.at("sequences").at("element").as_int64(),
                                 .event = h.at("sequences").at("event").as_int64()};
      auto rows = CountsFromJson(h.at("rows"));
      if (!rows.ok()) return Corrupt(rows.status().message());
      info.rows = *std::move(rows);
      return info;
    } catch (const std::exception& e) {
      return Corrupt(std::string("bad header: ") + e.what());
    }
  }

  Status Scan(const Table& table, const PageFn& page) override {
    std::vector<Row> rows;
    for (;;) {
      if (!pending_) {
        auto next = NextObject();
        if (!next.ok()) return next.status();
        if (!next->has_value()) return Corrupt("the file ends without its end line (truncated?)");
        pending_ = std::move(next).value();
      }
      const json::object& line = *pending_;
      if (line.contains("end")) break;
      const json::value* name = line.if_contains("table");
      if (name == nullptr || !name->is_string())
        return Corrupt("a line is neither a row nor the end");
      const Table* of = FindTable(std::string_view(name->as_string()));
      if (of == nullptr) return Corrupt("unknown table '" + std::string(name->as_string()) + "'");
      if (of != &table) {
        if (of < &table) return Corrupt("rows of table " + std::string(of->name) + " out of order");
        break;  // the next table's first row: keep it for its Scan
      }
      auto row = RowFromJson(table, line);
      if (!row.ok()) return row.status();
      rows.push_back(std::move(row).value());
      pending_.reset();
      if (rows.size() == static_cast<std::size_t>(kPageRows)) {
        if (Status s = page(rows); !s.ok()) return s;
        rows.clear();
      }
    }
    if (!rows.empty()) {
      if (Status s = page(rows); !s.ok()) return s;
    }
    if (&table == &Tables().back()) return ReadEnd();
    return Status::Ok();
  }

  std::optional<Summary> Recorded() const override { return recorded_; }

 private:
  Status Corrupt(const std::string& what) const {
    return Status::InvalidArgument("backup file '" + path_ + "', line " + std::to_string(line_) +
                                   ": " + what);
  }

  // The next line as a JSON object; nullopt at the end of the file.
  Result<std::optional<json::object>> NextObject() {
    std::string text;
    if (!std::getline(in_, text)) {
      if (in_.bad()) return Status::Unavailable("cannot read '" + path_ + "'");
      return std::optional<json::object>();
    }
    ++line_;
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec) return Corrupt("not JSON: " + ec.message());
    if (!value.is_object()) return Corrupt("not a JSON object");
    return std::optional<json::object>(std::move(value.as_object()));
  }

  Result<Row> RowFromJson(const Table& table, const json::object& line) {
    const json::value* cells = line.if_contains("row");
    if (cells == nullptr || !cells->is_array()) return Corrupt("a row line without its row");
    const json::array& array = cells->as_array();
    if (array.size() != table.columns.size()) {
      return Corrupt("a row of " + std::string(table.name) + " with " +
                     std::to_string(array.size()) + " values");
    }
    Row row;
    for (std::size_t i = 0; i < array.size(); ++i) {
      auto cell = CellFromJson(table.columns[i], array[i]);
      if (!cell.ok()) return Corrupt(cell.status().message());
      row.push_back(std::move(cell).value());
    }
    if (Status s = CheckRow(table, row); !s.ok()) return Corrupt(s.message());
    return row;
  }

  // After the last table: the end line, and nothing after it.
  Status ReadEnd() {
    if (!pending_ || !pending_->contains("end")) return Corrupt("rows after the last table");
    try {
      const json::value& end = pending_->at("end");
      Summary summary;
      auto rows = CountsFromJson(end.at("rows"));
      auto users = CountsFromJson(end.at("tasks_per_user"));
      if (!rows.ok() || !users.ok()) return Corrupt("bad end line");
      summary.rows = *std::move(rows);
      summary.tasks_per_user = *std::move(users);
      summary.sha256 = std::string(end.at("sha256").as_string());
      recorded_ = std::move(summary);
    } catch (const std::exception& e) {
      return Corrupt(std::string("bad end line: ") + e.what());
    }
    pending_.reset();
    auto extra = NextObject();
    if (!extra.ok()) return extra.status();
    if (extra->has_value()) return Corrupt("lines after the end line");
    return Status::Ok();
  }

  std::string path_;
  std::ifstream in_;
  int64_t line_ = 0;
  std::optional<json::object> pending_;  // read, not yet used
  std::optional<Summary> recorded_;
};

class BackupFileTarget final : public Target {
 public:
  explicit BackupFileTarget(std::string path)
      : path_(std::move(path)), partial_(path_ + ".partial") {}
  ~BackupFileTarget() override {
    if (!finished_) {
      out_.close();
      std::error_code ignored;
      std::filesystem::remove(partial_, ignored);
    }
  }

  Status Begin(const SourceInfo& info, bool force) override {
    std::error_code error;
    if (std::filesystem::exists(path_, error) && !force) {
      return Status::Conflict("'" + path_ + "' exists; --force replaces it");
    }
    out_.open(partial_, std::ios::out | std::ios::trunc | std::ios::binary);
    if (!out_) return Status::Unavailable("cannot write '" + partial_ + "'");
    return WriteHead(info);
  }

  Status Append(const Table& table, const std::vector<Row>& rows) override {
    for (const Row& row : rows) {
      json::array cells;
      for (std::size_t i = 0; i < row.size(); ++i)
        cells.push_back(CellToJson(table.columns[i], row[i]));
      json::object line;
      line["table"] = table.name;
      line["row"] = std::move(cells);
      out_ << json::serialize(line) << '\n';
    }
    return out_ ? Status::Ok() : Status::Unavailable("cannot write '" + partial_ + "'");
  }

  Status Finish(const SourceInfo&, const Summary& summary) override {
    json::object end;
    end["rows"] = CountsToJson(summary.rows);
    end["tasks_per_user"] = CountsToJson(summary.tasks_per_user);
    end["sha256"] = summary.sha256;
    json::object line;
    line["end"] = std::move(end);
    out_ << json::serialize(line) << '\n';
    out_.close();
    if (!out_) return Status::Unavailable("cannot write '" + partial_ + "'");
    std::error_code error;
    std::filesystem::rename(partial_, path_, error);
    if (error) return Status::Unavailable("cannot write '" + path_ + "': " + error.message());
    finished_ = true;
    return Status::Ok();
  }

 private:
  Status WriteHead(const SourceInfo& info) {
    json::object head;
    head["format"] = kBackupFormat;
    head["version"] = kBackupVersion;
    head["position"] = info.position;
    head["taken"] = core::FormatIso8601(info.taken);
    head["taken_ms"] = core::ToMillis(info.taken);
    json::object sequences;
    sequences["element"] = info.sequences.element;
    sequences["event"] = info.sequences.event;
    head["sequences"] = std::move(sequences);
    head["rows"] = CountsToJson(info.rows);
    out_ << json::serialize(head) << '\n';
    return out_ ? Status::Ok() : Status::Unavailable("cannot write '" + partial_ + "'");
  }

  std::string path_;
  std::string partial_;
  std::ofstream out_;
  bool finished_ = false;
};

}  // namespace

Result<BackupKind> DetectBackupKind(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::InvalidArgument("cannot open '" + path + "': no such file or not readable");
  char head[16] = {};
  in.read(head, sizeof head);
  std::size_t got = static_cast<std::size_t>(in.gcount());
  if (got == sizeof head &&
      std::string_view(head, sizeof head) == std::string_view(kSqliteMagic, sizeof kSqliteMagic)) {
    return BackupKind::kSqlite;
  }
  if (got > 0 && head[0] == '{') return BackupKind::kJsonLines;
  if (got == 0) return Status::InvalidArgument("'" + path + "' is empty: not a backup");
  return Status::InvalidArgument("'" + path + "' is neither a SQLite file nor a todo backup file");
}

Result<std::unique_ptr<Source>> OpenBackupFileSource(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot open '" + path + "'");
  return std::unique_ptr<Source>(new BackupFileSource(path, std::move(in)));
}

Result<std::unique_ptr<Target>> OpenBackupFileTarget(const std::string& path) {
  return std::unique_ptr<Target>(new BackupFileTarget(path));
}

}  // namespace todo::transfer
