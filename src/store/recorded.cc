#include "store/recorded.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <optional>

namespace todo::store {

using core::Status;
using core::Task;

namespace {

// The recorded JSON array (of `size` items, unless 0).
core::Result<boost::json::array> RecordedArray(std::string_view text, std::size_t size) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_array() || (size != 0 && value.as_array().size() != size)) {
    return Status::Internal("a recorded result has not the expected form: " + std::string(text));
  }
  return std::move(value.as_array());
}

std::optional<int64_t> IntAt(const boost::json::array& items, std::size_t i) {
  if (i >= items.size() || !items[i].is_int64()) return std::nullopt;
  return items[i].as_int64();
}

}  // namespace

template <>
core::Result<core::Task> DecodeRecorded<core::Task>(std::string_view text,
                                                    const std::string& user) {
  auto items = RecordedArray(text, 5);
  if (!items.ok()) return items.status();
  std::optional<int64_t> id = IntAt(*items, 0);
  std::optional<int64_t> created = IntAt(*items, 2);
  std::optional<int64_t> updated = IntAt(*items, 3);
  std::optional<int64_t> done = IntAt(*items, 4);
  if (!id || !(*items)[1].is_string() || !created || !updated ||
      (!done && !(*items)[4].is_null())) {
    return Status::Internal("a recorded task is not [id, text, created, updated, done]");
  }
  Task task{.id = *id,
            .user = user,
            .text = std::string((*items)[1].as_string()),
            .created = core::FromMillis(*created),
            .updated = core::FromMillis(*updated),
            .done = std::nullopt};
  if (done) task.done = core::FromMillis(*done);
  return task;
}

template <>
core::Result<std::vector<int64_t>> DecodeRecorded<std::vector<int64_t>>(std::string_view text,
                                                                        const std::string&) {
  auto items = RecordedArray(text, 0);
  if (!items.ok()) return items.status();
  std::vector<int64_t> ids;
  for (std::size_t i = 0; i < items->size(); ++i) {
    std::optional<int64_t> id = IntAt(*items, i);
    if (!id) return Status::Internal("a recorded id list holds a non-id");
    ids.push_back(*id);
  }
  return ids;
}


}  // namespace todo::store
