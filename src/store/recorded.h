// The results writes with an Idempotency-Key record as data (PostgreSQL records them so,
// decision 0009; SQLite records the rendered answer, but reads data records too, which a
// copy from PostgreSQL brings): a task as [id, text, created ms, updated ms, done ms or
// null], remove-oldest's ids as [id, ...]. A replay renders the answer from them with the
// function that rendered the first answer (Idempotency::render). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/task.h"

namespace todo::store {

// The value a write returned, from its record. kInternal if the record has another shape.
template <typename T>
core::Result<T> DecodeRecorded(std::string_view recorded, const std::string& user);

template <>
core::Result<core::Task> DecodeRecorded<core::Task>(std::string_view recorded,
                                                    const std::string& user);
template <>
core::Result<std::vector<int64_t>> DecodeRecorded<std::vector<int64_t>>(std::string_view recorded,
                                                                        const std::string& user);

}  // namespace todo::store
