// Test helper: runs SQL against $MYSQL_URL and prints the last statement's rows through RowConverter.
//
//   sql-convert [--meta] SETUP_SQL... QUERY
//
// Every argument but the last is executed as is (text protocol); the last is prepared and executed
// (binary protocol) and printed as one line with its `types` object, then one JSON object per row.
// --meta also prints each column's MYSQL_FIELD (type, length, decimals, flags, charsetnr) to stderr.
// Exit status: 0, or the sysexits code of the error's category.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cli/error.hpp"
#include "clients/mysql.hpp"
#include "clients/url.hpp"
#include "sql/converter.hpp"

namespace {

void print_meta(MYSQL_STMT* stmt) {
  rowpipe::MysqlResult meta(mysql_stmt_result_metadata(stmt));
  if (!meta) return;
  unsigned n = mysql_num_fields(meta.get());
  const MYSQL_FIELD* f = mysql_fetch_fields(meta.get());
  for (unsigned i = 0; i < n; ++i) {
    std::fprintf(stderr, "%s: type=%d length=%lu decimals=%u flags=%u charsetnr=%u word=%s\n", f[i].name,
                 static_cast<int>(f[i].type), f[i].length, f[i].decimals, f[i].flags, f[i].charsetnr,
                 rowpipe::column_type_of(f[i]).word().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  bool meta = false;
  if (!args.empty() && args[0] == "--meta") {
    meta = true;
    args.erase(args.begin());
  }
  if (args.empty()) {
    std::fprintf(stderr, "usage: sql-convert [--meta] SETUP_SQL... QUERY  (connects to $MYSQL_URL)\n");
    return 64;
  }
  const char* url_text = std::getenv("MYSQL_URL");
  if (url_text == nullptr) {
    std::fprintf(stderr, "sql-convert: MYSQL_URL is not set\n");
    return 64;
  }
  try {
    rowpipe::MysqlLibrary library;
    rowpipe::Url url = rowpipe::parse_url(rowpipe::resolve_url_argument(url_text), rowpipe::Scheme::kMysql);
    rowpipe::Mysql db = rowpipe::connect_mysql(url);
    for (size_t i = 0; i + 1 < args.size(); ++i) rowpipe::execute(db.get(), args[i]);
    rowpipe::MysqlStmt stmt = rowpipe::prepare(db.get(), args.back());
    if (meta) print_meta(stmt.get());
    rowpipe::execute(stmt.get());
    rowpipe::RowConverter rows(stmt.get());
    std::string line;
    rows.append_types(line);
    line += '\n';
    while (rows.fetch()) {
      rows.append_row(line);
      line += '\n';
      if (line.size() > (1 << 16)) {
        std::fwrite(line.data(), 1, line.size(), stdout);
        line.clear();
      }
    }
    std::fwrite(line.data(), 1, line.size(), stdout);
    if (std::fflush(stdout) != 0) return 74;
  } catch (const rowpipe::Error& e) {
    std::fprintf(stderr, "sql-convert: %s: %s\n", rowpipe::kind_name(e.kind()), e.what());
    return rowpipe::exit_code(e.kind());
  }
  return 0;
}
