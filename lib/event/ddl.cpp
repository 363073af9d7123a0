// Recognising the statements that empty a table.
#include "event/ddl.hpp"

#include <cctype>

namespace rowpipe {
namespace {

std::string_view skip_blanks_and_comments(std::string_view sql) {
  for (;;) {
    while (!sql.empty() && std::isspace(static_cast<unsigned char>(sql.front())) != 0) sql.remove_prefix(1);
    if (sql.starts_with("/*")) {
      size_t end = sql.find("*/", 2);
      sql.remove_prefix(end == std::string_view::npos ? sql.size() : end + 2);
    } else if (sql.starts_with("-- ") || sql.starts_with("#")) {
      size_t end = sql.find('\n');
      sql.remove_prefix(end == std::string_view::npos ? sql.size() : end + 1);
    } else {
      return sql;
    }
  }
}

// Consumes `word` (upper case) when it leads `sql` as a whole keyword.
bool keyword(std::string_view& sql, std::string_view word) {
  sql = skip_blanks_and_comments(sql);
  if (sql.size() < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(sql[i])) != word[i]) return false;
  if (sql.size() > word.size()) {
    auto next = static_cast<unsigned char>(sql[word.size()]);
    if (std::isalnum(next) != 0 || next == '_' || next == '$') return false;
  }
  sql.remove_prefix(word.size());
  return true;
}

}  // namespace

DdlKind classify_ddl(std::string_view sql) {
  if (keyword(sql, "TRUNCATE")) return DdlKind::kTruncate;
  if (keyword(sql, "DROP")) {
    keyword(sql, "TEMPORARY");
    if (keyword(sql, "TABLE")) return DdlKind::kDrop;
  }
  return DdlKind::kOther;
}

}  // namespace rowpipe
