// Binlog positions: FILE:POS and FILE:POS:ROW, totally ordered for one server.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rowpipe {

// A place in one server's binlog. Ordered by the file's sequence number (the numeric extension of
// `mysql-bin.000042`), then the name (for files without one), then the offset.
struct Position {
  std::string file;
  uint64_t offset = 0;

  bool empty() const { return file.empty(); }
  std::string str() const;  // "FILE:POS"

  // Parses "FILE:POS"; the file name may itself contain ':' (the last one separates).
  static std::optional<Position> parse(std::string_view text);
  // Parses into this position, reusing its storage; false (and unchanged) when `text` is malformed.
  bool assign(std::string_view text);
};

// The numeric extension of a binlog file name (`mysql-bin.000042` -> 42), or nullopt.
std::optional<uint64_t> file_sequence(std::string_view file);

std::strong_ordering compare(const Position& a, const Position& b);
inline bool operator==(const Position& a, const Position& b) { return a.offset == b.offset && a.file == b.file; }
inline std::strong_ordering operator<=>(const Position& a, const Position& b) { return compare(a, b); }

// A row inside an event: (file sequence, offset, row) is unique per server.
struct RowPosition {
  Position pos;
  uint64_t row = 0;

  std::string str() const;  // "FILE:POS:ROW"
  static std::optional<RowPosition> parse(std::string_view text);
};

inline bool operator==(const RowPosition& a, const RowPosition& b) { return a.row == b.row && a.pos == b.pos; }
inline std::strong_ordering operator<=>(const RowPosition& a, const RowPosition& b) {
  if (auto c = compare(a.pos, b.pos); c != 0) return c;
  return a.row <=> b.row;
}

// Parses a decimal unsigned integer that spans all of `text` (no sign, no spaces).
std::optional<uint64_t> parse_u64(std::string_view text);

}  // namespace rowpipe
