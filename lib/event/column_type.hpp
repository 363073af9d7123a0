// The closed vocabulary of column type words carried in a line's `types` (rowpipe-events(5)).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rowpipe {

enum class TypeBase : uint8_t {
  kTinyint,
  kSmallint,
  kMediumint,
  kInt,
  kBigint,
  kFloat,
  kDouble,
  kDecimal,
  kDate,
  kTime,
  kDatetime,
  kTimestamp,
  kYear,
  kChar,
  kVarchar,
  kText,
  kBinary,
  kVarbinary,
  kBlob,
  kEnum,
  kSet,
  kBit,
  kJson,
  kGeometry,
  kVector,
};

struct ColumnType {
  TypeBase base = TypeBase::kVarchar;
  bool is_unsigned = false;  // integers only
  uint16_t precision = 0;    // decimal(P,S): P; bit(N): N
  uint16_t scale = 0;        // decimal(P,S): S; time/datetime/timestamp(F): F

  // "int unsigned", "decimal(10,2)", "datetime(6)", "bit(1)", "varchar", ...
  std::string word() const;
  static std::optional<ColumnType> parse(std::string_view word);

  bool is_integer() const { return base <= TypeBase::kBigint; }
  // Values of these types are carried base64 in lines and mean raw bytes.
  bool is_binary() const {
    return base == TypeBase::kBinary || base == TypeBase::kVarbinary || base == TypeBase::kBlob;
  }
  friend bool operator==(const ColumnType&, const ColumnType&) = default;
};

}  // namespace rowpipe
