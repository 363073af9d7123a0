// Column values as typed BSON: the TYPES rules of jsonl-to-mongo(1), keyed off the line's `types`.
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config.hpp"
#include "event/column_type.hpp"
#include "event/event.hpp"

namespace rowpipe::mongo_sink {

struct ValueRules {
  DecimalMode decimal = DecimalMode::kDecimal128;
  DatetimeMode datetime = DatetimeMode::kAuto;
  // Empty when the server stores Decimal128; else the server's name (FerretDB v1 closes the connection
  // on a Decimal128 value), and a value that needs one is a data error that says so.
  std::string lacks_decimal128;
};

// Appends `value` of `column` under `key` (the column's output name). `type` is the column's parsed
// type word, or nullptr when the line does not say (seed lines): the JSON type then decides. Throws
// Error(kData) naming the column when the value does not fit its type (an integer column holding a
// string, bad base64, a key with a NUL byte in a JSON document, ...).
void append_value(bson_t* doc, std::string_view key, std::string_view column, const ColumnType* type,
                  const JsonValue& value, const ValueRules& rules);

// Milliseconds since the epoch of `YYYY-MM-DD HH:MM:SS[.f...]` read as UTC (fraction digits beyond
// three cut), or nullopt when the text is not a calendar instant (zero dates, day 31 of a 30-day
// month, malformed text).
std::optional<int64_t> datetime_millis(std::string_view text);

// Appends a BSON element key with the checks every key needs: not empty, no NUL byte.
void check_key(std::string_view key, std::string_view column);

// Parsed type words, cached by their text (the vocabulary is small; lines repeat it on every row).
class TypeCache {
 public:
  // nullptr for an empty word (untyped); the word was validated by the line parser.
  const ColumnType* get(std::string_view word);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, ColumnType, Hash, std::equal_to<>> types_;
};

}  // namespace rowpipe::mongo_sink
