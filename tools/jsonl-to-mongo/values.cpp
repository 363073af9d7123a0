// Typed BSON from line values.
#include "values.hpp"

#include <charconv>
#include <cstring>
#include <limits>

#include "cli/error.hpp"
#include "event/values.hpp"

namespace rowpipe::mongo_sink {
namespace {

// MySQL JSON documents nest at most 100 deep; anything deeper is not from a server.
constexpr int kMaxDepth = 200;

int key_length(std::string_view key) { return static_cast<int>(key.size()); }

std::string_view json_kind(const JsonValue& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "a boolean";
    case rapidjson::kObjectType: return "an object";
    case rapidjson::kArrayType: return "an array";
    case rapidjson::kStringType: return "a string";
    case rapidjson::kNumberType: return v.IsInt64() || v.IsUint64() ? "an integer" : "a fraction";
  }
  return "a value";
}

[[noreturn]] void mismatch(std::string_view column, const ColumnType& type, const JsonValue& v,
                           std::string_view needs) {
  fail(ErrorKind::kData, "column \"" + std::string(column) + "\" holds " + std::string(json_kind(v)) +
                             " where its type " + type.word() + " needs " + std::string(needs));
}

std::string_view text_of(const JsonValue& v) { return {v.GetString(), v.GetStringLength()}; }

void append_decimal_text(bson_t* doc, std::string_view key, std::string_view column, std::string_view text,
                         const ValueRules& rules) {
  if (rules.decimal == DecimalMode::kString) {
    bson_append_utf8(doc, key.data(), key_length(key), text.data(), static_cast<int>(text.size()));
    return;
  }
  if (!rules.lacks_decimal128.empty()) {
    fail(ErrorKind::kData, "column \"" + std::string(column) + "\" needs a Decimal128, which the server (" +
                               rules.lacks_decimal128 + ") does not store: use --decimal string");
  }
  bson_decimal128_t dec;
  std::string copy(text);  // libbson wants a NUL-terminated string
  if (!bson_decimal128_from_string(copy.c_str(), &dec)) {
    fail(ErrorKind::kData, "column \"" + std::string(column) + "\": value " + copy.substr(0, 80) +
                               " is no exact Decimal128 (at most 34 significant digits): use --decimal string");
  }
  bson_append_decimal128(doc, key.data(), key_length(key), &dec);
}

// An integer beyond int64 (BIGINT UNSIGNED, BIT(64)): Decimal128, or its decimal text.
void append_big_unsigned(bson_t* doc, std::string_view key, std::string_view column, uint64_t value,
                         const ValueRules& rules) {
  char text[24];
  auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  (void)ec;
  append_decimal_text(doc, key, column, std::string_view(text, static_cast<size_t>(end - text)), rules);
}

void append_untyped(bson_t* doc, std::string_view key, std::string_view column, const JsonValue& v,
                    const ValueRules& rules, int depth);

void append_untyped_number(bson_t* doc, std::string_view key, std::string_view column, const JsonValue& v,
                           const ValueRules& rules) {
  if (v.IsInt()) {
    bson_append_int32(doc, key.data(), key_length(key), v.GetInt());
  } else if (v.IsInt64()) {
    bson_append_int64(doc, key.data(), key_length(key), v.GetInt64());
  } else if (v.IsUint64()) {
    append_big_unsigned(doc, key, column, v.GetUint64(), rules);
  } else {
    bson_append_double(doc, key.data(), key_length(key), v.GetDouble());
  }
}

void append_untyped_object(bson_t* doc, std::string_view key, std::string_view column, const JsonValue& v,
                           const ValueRules& rules, int depth) {
  if (depth > kMaxDepth) fail(ErrorKind::kData, "column \"" + std::string(column) + "\" nests too deep");
  bson_t child;
  if (v.IsObject()) {
    bson_append_document_begin(doc, key.data(), key_length(key), &child);
    for (const auto& m : v.GetObject()) {
      std::string_view name = text_of(m.name);
      if (name.find('\0') != std::string_view::npos)
        fail(ErrorKind::kData, "column \"" + std::string(column) + "\" holds a JSON key with a NUL byte");
      append_untyped(&child, name, column, m.value, rules, depth + 1);
    }
    bson_append_document_end(doc, &child);
  } else {
    bson_append_array_begin(doc, key.data(), key_length(key), &child);
    char index[16];
    uint32_t i = 0;
    for (const auto& e : v.GetArray()) {
      const char* index_key = nullptr;
      size_t n = bson_uint32_to_string(i++, &index_key, index, sizeof index);
      append_untyped(&child, std::string_view(index_key, n), column, e, rules, depth + 1);
    }
    bson_append_array_end(doc, &child);
  }
}

void append_untyped(bson_t* doc, std::string_view key, std::string_view column, const JsonValue& v,
                    const ValueRules& rules, int depth) {
  switch (v.GetType()) {
    case rapidjson::kNullType: bson_append_null(doc, key.data(), key_length(key)); break;
    case rapidjson::kFalseType: bson_append_bool(doc, key.data(), key_length(key), false); break;
    case rapidjson::kTrueType: bson_append_bool(doc, key.data(), key_length(key), true); break;
    case rapidjson::kStringType:
      bson_append_utf8(doc, key.data(), key_length(key), v.GetString(), static_cast<int>(v.GetStringLength()));
      break;
    case rapidjson::kNumberType: append_untyped_number(doc, key, column, v, rules); break;
    case rapidjson::kObjectType:
    case rapidjson::kArrayType: append_untyped_object(doc, key, column, v, rules, depth); break;
  }
}

void append_integer(bson_t* doc, std::string_view key, std::string_view column, const ColumnType& type,
                    const JsonValue& v, const ValueRules& rules) {
  if (!v.IsInt64() && !v.IsUint64()) mismatch(column, type, v, "an integer");
  bool wide = type.base == TypeBase::kBigint || (type.base == TypeBase::kInt && type.is_unsigned);
  if (!wide) {
    if (!v.IsInt()) {
      fail(ErrorKind::kData, "column \"" + std::string(column) + "\": value out of range for its type " + type.word());
    }
    bson_append_int32(doc, key.data(), key_length(key), v.GetInt());
  } else if (v.IsInt64()) {
    if (!type.is_unsigned || v.GetInt64() >= 0) {
      bson_append_int64(doc, key.data(), key_length(key), v.GetInt64());
    } else {
      fail(ErrorKind::kData, "column \"" + std::string(column) + "\": negative value for its type " + type.word());
    }
  } else {
    if (!type.is_unsigned) {
      fail(ErrorKind::kData, "column \"" + std::string(column) + "\": value out of range for its type " + type.word());
    }
    append_big_unsigned(doc, key, column, v.GetUint64(), rules);
  }
}

void append_datetime(bson_t* doc, std::string_view key, std::string_view column, const ColumnType& type,
                     const JsonValue& v, const ValueRules& rules) {
  if (!v.IsString()) mismatch(column, type, v, "a string");
  std::string_view text = text_of(v);
  bool as_date = rules.datetime == DatetimeMode::kDate || (rules.datetime == DatetimeMode::kAuto && type.scale <= 3);
  if (as_date) {
    if (auto ms = datetime_millis(text)) {
      bson_append_date_time(doc, key.data(), key_length(key), *ms);
      return;
    }
  }
  // Zero dates and the like are no instant: kept as the text MySQL showed.
  bson_append_utf8(doc, key.data(), key_length(key), text.data(), static_cast<int>(text.size()));
}

void append_set(bson_t* doc, std::string_view key, const JsonValue& v) {
  bson_t child;
  bson_append_array_begin(doc, key.data(), key_length(key), &child);
  std::string_view text = text_of(v);
  char index[16];
  uint32_t i = 0;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view label = text.substr(0, comma);
    const char* index_key = nullptr;
    size_t n = bson_uint32_to_string(i++, &index_key, index, sizeof index);
    bson_append_utf8(&child, index_key, static_cast<int>(n), label.data(), static_cast<int>(label.size()));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  bson_append_array_end(doc, &child);
}

}  // namespace

void check_key(std::string_view key, std::string_view column) {
  if (key.empty()) fail(ErrorKind::kData, "a column with an empty name cannot be a document field");
  if (key.find('\0') != std::string_view::npos)
    fail(ErrorKind::kData, "column \"" + std::string(column) + "\": a name with a NUL byte cannot be a document field");
}

std::optional<int64_t> datetime_millis(std::string_view t) {
  // YYYY-MM-DD HH:MM:SS, then optionally '.' and 1 to 9 digits.
  auto num = [&](size_t at, size_t n) -> std::optional<unsigned> {
    if (at + n > t.size()) return std::nullopt;
    unsigned v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(t[i] - '0');
    }
    return v;
  };
  if (t.size() < 19 || t[4] != '-' || t[7] != '-' || t[10] != ' ' || t[13] != ':' || t[16] != ':') return std::nullopt;
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), s = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !s) return std::nullopt;
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*mo < 1 || *mo > 12 || *d < 1 || *h > 23 || *mi > 59 || *s > 59) return std::nullopt;
  bool leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
  if (*d > kDays[*mo - 1] + (*mo == 2 && leap ? 1 : 0)) return std::nullopt;
  unsigned millis = 0;
  if (t.size() > 19) {
    if (t[19] != '.' || t.size() == 20 || t.size() > 29) return std::nullopt;
    for (size_t i = 20; i < t.size(); ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      if (i < 23) millis = millis * 10 + static_cast<unsigned>(t[i] - '0');
    }
    for (size_t i = t.size(); i < 23; ++i) millis *= 10;
  }
  int64_t days = days_from_civil(*y, *mo, *d);
  return ((days * 24 + *h) * 60 + *mi) * 60000 + int64_t{*s} * 1000 + millis;
}

void append_value(bson_t* doc, std::string_view key, std::string_view column, const ColumnType* type,
                  const JsonValue& v, const ValueRules& rules) {
  if (v.IsNull()) {
    bson_append_null(doc, key.data(), key_length(key));
    return;
  }
  if (type == nullptr) {
    append_untyped(doc, key, column, v, rules, 0);
    return;
  }
  const ColumnType& t = *type;
  switch (t.base) {
    case TypeBase::kTinyint:
    case TypeBase::kSmallint:
    case TypeBase::kMediumint:
    case TypeBase::kInt:
    case TypeBase::kBigint: append_integer(doc, key, column, t, v, rules); return;
    case TypeBase::kYear:
      if (!v.IsInt()) mismatch(column, t, v, "an integer");
      bson_append_int32(doc, key.data(), key_length(key), v.GetInt());
      return;
    case TypeBase::kBit:
      if (v.IsInt64()) {
        bson_append_int64(doc, key.data(), key_length(key), v.GetInt64());
      } else if (v.IsUint64()) {
        append_big_unsigned(doc, key, column, v.GetUint64(), rules);
      } else {
        mismatch(column, t, v, "an integer");
      }
      return;
    case TypeBase::kFloat:
    case TypeBase::kDouble:
      if (!v.IsNumber()) mismatch(column, t, v, "a number");
      bson_append_double(doc, key.data(), key_length(key), v.GetDouble());
      return;
    case TypeBase::kDecimal:
      if (!v.IsString()) mismatch(column, t, v, "a string");
      append_decimal_text(doc, key, column, text_of(v), rules);
      return;
    case TypeBase::kDatetime:
    case TypeBase::kTimestamp: append_datetime(doc, key, column, t, v, rules); return;
    case TypeBase::kDate:
    case TypeBase::kTime:
    case TypeBase::kChar:
    case TypeBase::kVarchar:
    case TypeBase::kText:
    case TypeBase::kGeometry:
      if (!v.IsString()) mismatch(column, t, v, "a string");
      bson_append_utf8(doc, key.data(), key_length(key), v.GetString(), static_cast<int>(v.GetStringLength()));
      return;
    case TypeBase::kEnum:
      // A number when the labels were unknown to the writer.
      if (v.IsNumber()) {
        append_untyped_number(doc, key, column, v, rules);
      } else if (v.IsString()) {
        bson_append_utf8(doc, key.data(), key_length(key), v.GetString(), static_cast<int>(v.GetStringLength()));
      } else {
        mismatch(column, t, v, "a string");
      }
      return;
    case TypeBase::kSet:
      if (v.IsNumber()) {
        append_untyped_number(doc, key, column, v, rules);
      } else if (v.IsString()) {
        append_set(doc, key, v);
      } else {
        mismatch(column, t, v, "a string");
      }
      return;
    case TypeBase::kBinary:
    case TypeBase::kVarbinary:
    case TypeBase::kBlob: {
      if (!v.IsString()) mismatch(column, t, v, "a base64 string");
      auto raw = base64_decode(text_of(v));
      if (!raw) fail(ErrorKind::kData, "column \"" + std::string(column) + "\" is not valid base64");
      bson_append_binary(doc, key.data(), key_length(key), BSON_SUBTYPE_BINARY,
                         reinterpret_cast<const uint8_t*>(raw->data()), static_cast<uint32_t>(raw->size()));
      return;
    }
    case TypeBase::kJson: append_untyped(doc, key, column, v, rules, 0); return;
    case TypeBase::kVector: {
      if (!v.IsArray()) mismatch(column, t, v, "an array of numbers");
      bson_t child;
      bson_append_array_begin(doc, key.data(), key_length(key), &child);
      char index[16];
      uint32_t i = 0;
      for (const auto& e : v.GetArray()) {
        if (!e.IsNumber()) mismatch(column, t, v, "an array of numbers");
        const char* index_key = nullptr;
        size_t n = bson_uint32_to_string(i++, &index_key, index, sizeof index);
        bson_append_double(&child, index_key, static_cast<int>(n), e.GetDouble());
      }
      bson_append_array_end(doc, &child);
      return;
    }
  }
}

const ColumnType* TypeCache::get(std::string_view word) {
  if (word.empty()) return nullptr;
  auto it = types_.find(word);
  if (it != types_.end()) return &it->second;
  auto parsed = ColumnType::parse(word);
  if (!parsed) return nullptr;
  return &types_.emplace(std::string(word), *parsed).first->second;
}

}  // namespace rowpipe::mongo_sink
