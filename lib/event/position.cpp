// Position parsing and ordering.
#include "event/position.hpp"

#include <charconv>

namespace rowpipe {

std::optional<uint64_t> parse_u64(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string Position::str() const { return file + ":" + std::to_string(offset); }

bool Position::assign(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  auto pos = parse_u64(text.substr(colon + 1));
  if (!pos) return false;
  std::string_view name = text.substr(0, colon);
  for (char c : name)
    if (static_cast<unsigned char>(c) < 0x20) return false;
  file.assign(name);
  offset = *pos;
  return true;
}

std::optional<Position> Position::parse(std::string_view text) {
  Position p;
  if (!p.assign(text)) return std::nullopt;
  return p;
}

std::optional<uint64_t> file_sequence(std::string_view file) {
  size_t dot = file.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  return parse_u64(file.substr(dot + 1));
}

std::strong_ordering compare(const Position& a, const Position& b) {
  auto sa = file_sequence(a.file);
  auto sb = file_sequence(b.file);
  if (sa && sb) {
    if (auto c = *sa <=> *sb; c != 0) return c;
  } else if (a.file != b.file) {
    if (auto c = a.file.compare(b.file) <=> 0; c != 0) return c;
  }
  return a.offset <=> b.offset;
}

std::string RowPosition::str() const { return pos.str() + ":" + std::to_string(row); }

std::optional<RowPosition> RowPosition::parse(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto row = parse_u64(text.substr(colon + 1));
  auto pos = Position::parse(text.substr(0, colon));
  if (!row || !pos) return std::nullopt;
  return RowPosition{std::move(*pos), *row};
}

}  // namespace rowpipe
