// MySQL's binary JSON (the JSON column's storage format) rendered as compact JSON text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rowpipe::binlog {

// Appends the JSON text of a binary JSON document, object members in storage order. Opaque values
// render as MySQL renders them: DECIMAL as a number, DATE/TIME/DATETIME/TIMESTAMP as strings
// (6 fraction digits), anything else as "base64:typeNN:...". An empty document is JSON null.
// Throws Error(kProtocol) with the absolute offset (`base` + position) on malformed input.
void append_json_binary(std::string& out, std::string_view doc, uint64_t base);

// Appends a DECIMAL(precision, scale) in MySQL's binary format (decimal2bin) as text with exactly
// `scale` fraction digits (in double quotes when `quoted`: a JSON string in one append). `bytes`
// must be decimal_bin_size(precision, scale) long.
void append_decimal(std::string& out, const uint8_t* bytes, unsigned precision, unsigned scale, bool quoted = false);
// The same written at `out` (room for kDecimalTextMax + 2 bytes); returns the end.
constexpr size_t kDecimalTextMax = 67;  // sign, 65 digits, point
char* write_decimal(char* out, const uint8_t* bytes, unsigned precision, unsigned scale, bool quoted);
size_t decimal_bin_size(unsigned precision, unsigned scale);

// MySQL's packed temporal formats (my_time.cc): a packed TIME / DATETIME to text, rendered as
// values.hpp's append_time / append_datetime / append_date do (in double quotes when `quoted`).
void append_packed_time(std::string& out, int64_t packed, unsigned fsp, bool quoted = false);
void append_packed_datetime(std::string& out, int64_t packed, unsigned fsp, bool date_only, bool quoted = false);
// The same written at `out` (room for kTemporalTextMax bytes); returns the end.
constexpr size_t kTemporalTextMax = 32;
char* write_packed_time(char* out, int64_t packed, unsigned fsp, bool quoted);
char* write_packed_datetime(char* out, int64_t packed, unsigned fsp, bool quoted);

}  // namespace rowpipe::binlog
