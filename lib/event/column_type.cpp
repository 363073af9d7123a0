// Type words: rendering and strict parsing.
#include "event/column_type.hpp"

#include <array>

#include "event/position.hpp"

namespace rowpipe {
namespace {

struct Name {
  TypeBase base;
  std::string_view word;
};

constexpr std::array<Name, 25> kNames{{
    {TypeBase::kTinyint, "tinyint"}, {TypeBase::kSmallint, "smallint"}, {TypeBase::kMediumint, "mediumint"},
    {TypeBase::kInt, "int"},         {TypeBase::kBigint, "bigint"},     {TypeBase::kFloat, "float"},
    {TypeBase::kDouble, "double"},   {TypeBase::kDecimal, "decimal"},   {TypeBase::kDate, "date"},
    {TypeBase::kTime, "time"},       {TypeBase::kDatetime, "datetime"}, {TypeBase::kTimestamp, "timestamp"},
    {TypeBase::kYear, "year"},       {TypeBase::kChar, "char"},         {TypeBase::kVarchar, "varchar"},
    {TypeBase::kText, "text"},       {TypeBase::kBinary, "binary"},     {TypeBase::kVarbinary, "varbinary"},
    {TypeBase::kBlob, "blob"},       {TypeBase::kEnum, "enum"},         {TypeBase::kSet, "set"},
    {TypeBase::kBit, "bit"},         {TypeBase::kJson, "json"},         {TypeBase::kGeometry, "geometry"},
    {TypeBase::kVector, "vector"},
}};

std::string_view base_word(TypeBase base) { return kNames[static_cast<size_t>(base)].word; }

std::optional<uint16_t> parse_small(std::string_view text, uint16_t max) {
  auto v = parse_u64(text);
  if (!v || *v > max || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

}  // namespace

std::string ColumnType::word() const {
  std::string out(base_word(base));
  switch (base) {
    case TypeBase::kDecimal: out += '(' + std::to_string(precision) + ',' + std::to_string(scale) + ')'; break;
    case TypeBase::kTime:
    case TypeBase::kDatetime:
    case TypeBase::kTimestamp: out += '(' + std::to_string(scale) + ')'; break;
    case TypeBase::kBit: out += '(' + std::to_string(precision) + ')'; break;
    default:
      if (is_integer() && is_unsigned) out += " unsigned";
  }
  return out;
}

std::optional<ColumnType> ColumnType::parse(std::string_view word) {
  ColumnType t;
  size_t paren = word.find('(');
  std::string_view head = word.substr(0, paren);
  std::string_view args;
  if (paren != std::string_view::npos) {
    if (word.back() != ')') return std::nullopt;
    args = word.substr(paren + 1, word.size() - paren - 2);
  }
  if (paren == std::string_view::npos && head.ends_with(" unsigned")) {
    t.is_unsigned = true;
    head.remove_suffix(9);
  }
  bool found = false;
  for (const Name& n : kNames) {
    if (n.word == head) {
      t.base = n.base;
      found = true;
      break;
    }
  }
  if (!found) return std::nullopt;
  if (t.is_unsigned && !t.is_integer()) return std::nullopt;
  switch (t.base) {
    case TypeBase::kDecimal: {
      size_t comma = args.find(',');
      if (paren == std::string_view::npos || comma == std::string_view::npos) return std::nullopt;
      auto p = parse_small(args.substr(0, comma), 65);
      auto s = parse_small(args.substr(comma + 1), 38);
      if (!p || !s || *p == 0 || *s > *p) return std::nullopt;
      t.precision = *p;
      t.scale = *s;
      return t;
    }
    case TypeBase::kTime:
    case TypeBase::kDatetime:
    case TypeBase::kTimestamp: {
      if (paren == std::string_view::npos) return std::nullopt;
      auto f = parse_small(args, 6);
      if (!f) return std::nullopt;
      t.scale = *f;
      return t;
    }
    case TypeBase::kBit: {
      if (paren == std::string_view::npos) return std::nullopt;
      auto n = parse_small(args, 64);
      if (!n || *n == 0) return std::nullopt;
      t.precision = *n;
      return t;
    }
    default:
      if (paren != std::string_view::npos) return std::nullopt;
      return t;
  }
}

}  // namespace rowpipe
