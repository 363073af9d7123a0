// A small SQL lexer: enough to classify statements by their leading keywords and read table names.
#include "binlog/statement.hpp"

#include <cctype>

namespace rowpipe::binlog {
namespace {

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  void skip_space() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i_;
      } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '*') {
        size_t end = s_.find("*/", i_ + 2);
        i_ = end == std::string_view::npos ? s_.size() : end + 2;
      } else if (c == '#' || (c == '-' && i_ + 2 < s_.size() && s_[i_ + 1] == '-' &&
                              std::isspace(static_cast<unsigned char>(s_[i_ + 2])))) {
        size_t end = s_.find('\n', i_);
        i_ = end == std::string_view::npos ? s_.size() : end + 1;
      } else {
        break;
      }
    }
  }

  // The next bare word (letters, digits, _ $), upper-cased; empty if none.
  std::string word() {
    skip_space();
    std::string w;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$') {
        w += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        ++i_;
      } else {
        break;
      }
    }
    return w;
  }

  bool accept(std::string_view kw) {
    size_t save = i_;
    if (word() == kw) return true;
    i_ = save;
    return false;
  }

  bool accept_char(char c) {
    skip_space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  // An identifier: `quoted` (doubled backticks inside), "quoted", or bare.
  bool ident(std::string& out) {
    skip_space();
    out.clear();
    if (i_ >= s_.size()) return false;
    char q = s_[i_];
    if (q == '`' || q == '"') {
      ++i_;
      while (i_ < s_.size()) {
        if (s_[i_] == q) {
          if (i_ + 1 < s_.size() && s_[i_ + 1] == q) {
            out += q;
            i_ += 2;
            continue;
          }
          ++i_;
          return true;
        }
        out += s_[i_++];
      }
      return false;
    }
    while (i_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (std::isalnum(c) || c == '_' || c == '$' || c >= 0x80) {
        out += static_cast<char>(c);
        ++i_;
      } else {
        break;
      }
    }
    return !out.empty();
  }

  // [db.]table
  bool table_name(std::string_view default_db, std::pair<std::string, std::string>& out) {
    std::string a;
    if (!ident(a)) return false;
    size_t save = i_;
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      std::string b;
      if (ident(b)) {
        out = {a, b};
        return true;
      }
      i_ = save;
    }
    out = {std::string(default_db), a};
    return true;
  }

  std::string_view rest() {
    skip_space();
    return s_.substr(i_);
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

std::string normalise(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

StatementKind classify_statement(std::string_view sql, std::string* xa_id) {
  Lexer lx(sql);
  std::string w = lx.word();
  if (w == "BEGIN") return StatementKind::kBegin;
  if (w == "START") return lx.accept("TRANSACTION") ? StatementKind::kBegin : StatementKind::kDdl;
  if (w == "COMMIT") return StatementKind::kCommit;
  if (w == "ROLLBACK") {
    lx.accept("WORK");
    return lx.accept("TO") ? StatementKind::kSavepoint : StatementKind::kRollback;
  }
  if (w == "SAVEPOINT" || w == "RELEASE") return StatementKind::kSavepoint;
  if (w == "XA") {
    std::string verb = lx.word();
    StatementKind k = StatementKind::kDdl;
    if (verb == "START" || verb == "BEGIN")
      k = StatementKind::kXaStart;
    else if (verb == "END")
      k = StatementKind::kXaEnd;
    else if (verb == "PREPARE")
      k = StatementKind::kXaPrepare;
    else if (verb == "COMMIT")
      k = StatementKind::kXaCommit;
    else if (verb == "ROLLBACK")
      k = StatementKind::kXaRollback;
    if (xa_id) {
      std::string id = normalise(lx.rest());
      for (std::string_view suffix : {" ONE PHASE", " one phase", " SUSPEND", " FOR MIGRATE", " JOIN", " RESUME"})
        if (id.size() > suffix.size() && std::string_view(id).ends_with(suffix)) id.resize(id.size() - suffix.size());
      *xa_id = id;
    }
    return k;
  }
  if (w == "INSERT" || w == "UPDATE" || w == "DELETE" || w == "REPLACE") return StatementKind::kDml;
  if (w == "LOAD") return lx.accept("DATA") || lx.accept("XML") ? StatementKind::kDml : StatementKind::kDdl;
  if (w == "WITH") {
    // WITH ... INSERT/UPDATE/DELETE (a CTE before DML).
    std::string_view rest = lx.rest();
    (void)rest;
    return StatementKind::kDml;
  }
  return StatementKind::kDdl;
}

std::vector<std::pair<std::string, std::string>> ddl_tables(std::string_view sql, std::string_view default_db) {
  std::vector<std::pair<std::string, std::string>> out;
  Lexer lx(sql);
  std::pair<std::string, std::string> name;
  std::string w = lx.word();
  if (w == "CREATE") {
    if (lx.accept("OR")) lx.accept("REPLACE");
    lx.accept("TEMPORARY");
    std::string what = lx.word();
    if (what == "TABLE") {
      if (lx.accept("IF")) {
        lx.accept("NOT");
        lx.accept("EXISTS");
      }
      if (lx.table_name(default_db, name)) out.push_back(name);
    } else if (what == "UNIQUE" || what == "FULLTEXT" || what == "SPATIAL" || what == "INDEX") {
      if (what != "INDEX" && !lx.accept("INDEX")) return out;
      if (lx.accept("IF")) {
        lx.accept("NOT");
        lx.accept("EXISTS");
      }
      std::string idx;
      lx.ident(idx);
      while (!lx.accept("ON")) {
        if (lx.word().empty() && !lx.accept_char('.')) return out;
      }
      if (lx.table_name(default_db, name)) out.push_back(name);
    }
  } else if (w == "ALTER") {
    lx.accept("ONLINE");
    lx.accept("IGNORE");
    if (lx.accept("TABLE") && lx.table_name(default_db, name)) {
      out.push_back(name);
      // ALTER TABLE a RENAME [TO|AS] b names b too.
      std::string next = lx.word();
      if (next == "RENAME") {
        if (!lx.accept("TO")) lx.accept("AS");
        if (lx.table_name(default_db, name)) out.push_back(name);
      }
    }
  } else if (w == "DROP") {
    lx.accept("TEMPORARY");
    std::string what = lx.word();
    if (what == "TABLE" || what == "TABLES") {
      if (lx.accept("IF")) lx.accept("EXISTS");
      do {
        if (!lx.table_name(default_db, name)) break;
        out.push_back(name);
      } while (lx.accept_char(','));
    } else if (what == "INDEX") {
      if (lx.accept("IF")) lx.accept("EXISTS");
      std::string idx;
      lx.ident(idx);
      if (lx.accept("ON") && lx.table_name(default_db, name)) out.push_back(name);
    }
  } else if (w == "TRUNCATE") {
    lx.accept("TABLE");
    if (lx.table_name(default_db, name)) out.push_back(name);
  } else if (w == "RENAME") {
    if (lx.accept("TABLE") || lx.accept("TABLES")) {
      do {
        if (!lx.table_name(default_db, name)) break;
        out.push_back(name);
        if (!lx.accept("TO")) break;
        if (!lx.table_name(default_db, name)) break;
        out.push_back(name);
      } while (lx.accept_char(','));
    }
  }
  return out;
}

}  // namespace rowpipe::binlog
