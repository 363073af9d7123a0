// Classifies the SQL text of QUERY events (transaction control, XA, statement DML, DDL) and finds the
// tables a DDL statement names.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rowpipe::binlog {

enum class StatementKind {
  kBegin,
  kCommit,
  kRollback,
  kSavepoint,  // SAVEPOINT, ROLLBACK TO, RELEASE SAVEPOINT
  kXaStart,
  kXaEnd,
  kXaPrepare,
  kXaCommit,
  kXaRollback,
  kDml,  // INSERT, UPDATE, DELETE, REPLACE, LOAD DATA: statement-based row changes
  kDdl,  // everything else
};

// `xa_id` receives the XA transaction id text of XA statements (whitespace-normalised).
StatementKind classify_statement(std::string_view sql, std::string* xa_id = nullptr);

// The (db, table) pairs a DDL statement acts on (CREATE/ALTER/DROP/TRUNCATE/RENAME TABLE,
// CREATE/DROP INDEX ... ON); `default_db` qualifies bare names. Empty when it names no table.
std::vector<std::pair<std::string, std::string>> ddl_tables(std::string_view sql, std::string_view default_db);

}  // namespace rowpipe::binlog
