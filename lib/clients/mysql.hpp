// MySQL/MariaDB through MariaDB Connector/C: RAII handles, connecting from a URL, errors mapped to kinds.
#pragma once

#include <mysql.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cli/error.hpp"
#include "clients/handle.hpp"
#include "clients/url.hpp"

namespace rowpipe {

using Mysql = Handle<MYSQL, mysql_close>;
using MysqlResult = Handle<MYSQL_RES, mysql_free_result>;
using MysqlStmt = Handle<MYSQL_STMT, mysql_stmt_close>;

// Process-wide init and teardown of the client library: one object in main, before any thread or
// connection (mysql_init would otherwise initialise it lazily, which is not thread-safe).
class MysqlLibrary {
 public:
  MysqlLibrary();  // throws Error(kInternal)
  ~MysqlLibrary();
  MysqlLibrary(const MysqlLibrary&) = delete;
  MysqlLibrary& operator=(const MysqlLibrary&) = delete;
};

// Connection settings beyond the URL. A field left empty/zero falls back to the URL's query parameter
// of the same name (?socket=, ?ssl-mode=, ?ssl-ca=, ?ssl-cert=, ?ssl-key=, ?connect-timeout=,
// ?read-timeout=, ?write-timeout=, ?defaults-file=; '_' may stand for '-').
struct MysqlOptions {
  std::string password_file;     // --password-file (see resolve_password)
  std::string socket;            // unix socket path: used instead of HOST:PORT
  unsigned connect_timeout = 0;  // seconds; 0: 10
  unsigned read_timeout = 0;     // seconds per read; 0: none (a dead peer then blocks until TCP gives up)
  unsigned write_timeout = 0;    // seconds per write; 0: none
  // DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY (Connector/C verifies the CA and the
  // host name together, so VERIFY_CA behaves as VERIFY_IDENTITY). Empty: VERIFY_CA when ssl_ca is
  // set, PREFERRED when only ssl_cert/ssl_key are, else no TLS (Connector/C 3.3's default).
  // Connector/C 3.3 cannot refuse a server without TLS before authenticating unless it verifies the
  // certificate: REQUIRED is checked right after the handshake; VERIFY_* refuse before it.
  std::string ssl_mode;
  std::string ssl_ca, ssl_cert, ssl_key;
  std::string defaults_file;  // --defaults-file: read [client] and [client-mariadb] groups from it
  bool utc = true;            // SET time_zone='+00:00' (TIMESTAMP values then read as UTC)
};

// A connection with charset utf8mb4, LOCAL INFILE disabled and (by default) session time zone UTC.
// Throws Error: kPermission when the server refuses the credentials, kUnavailable when it cannot be
// reached, kConfig for bad TLS/option settings or an unknown database; the message names the
// redacted URL and carries the library's text, never the password.
Mysql connect_mysql(const Url& url, const MysqlOptions& options = {});

// Which category a MySQL client or server error code belongs to: access denied -> kPermission; cannot
// connect, connection lost, server shutting down, too many connections, lock wait timeout or deadlock
// -> kUnavailable; other server errors (1000-1999, 3000+: unknown table, bad SQL, settings)
// -> kConfig; other client errors (2000-2999, 5000+) -> kProtocol.
ErrorKind mysql_error_kind(unsigned code) noexcept;

// Throws Error(mysql_error_kind(code)) with "context: message (error N)".
[[noreturn]] void throw_mysql_error(MYSQL* db, std::string_view context);
[[noreturn]] void throw_stmt_error(MYSQL_STMT* stmt, std::string_view context);

// A stored (client-side) text-protocol result with row iteration; for small results (SHOW ...,
// SELECT @@...). Stream large results through a prepared statement and sql::RowConverter instead.
class QueryResult {
 public:
  QueryResult() = default;
  explicit QueryResult(MYSQL_RES* res);

  // False when the statement returned no result set (INSERT, SET, ...).
  explicit operator bool() const { return res_ != nullptr; }
  // Advances to the next row; false after the last one.
  bool next();
  unsigned columns() const;
  uint64_t rows() const;
  std::string_view name(unsigned column) const;
  // Index of a column by name, or -1.
  int find(std::string_view name) const;
  bool is_null(unsigned column) const { return row_[column] == nullptr; }
  // The current row's value as text ("" for NULL).
  std::string_view operator[](unsigned column) const {
    return row_[column] == nullptr ? std::string_view() : std::string_view(row_[column], lengths_[column]);
  }
  MYSQL_RES* get() const { return res_.get(); }

 private:
  MysqlResult res_;
  MYSQL_ROW row_ = nullptr;
  unsigned long* lengths_ = nullptr;
};

// Runs one statement (text protocol) and returns its stored result (empty for statements without one).
QueryResult query(MYSQL* db, std::string_view sql);

// `text` as a quoted SQL string literal, escaped for the connection's character set.
std::string sql_literal(MYSQL* db, std::string_view text);
// Runs one statement and discards any result.
void execute(MYSQL* db, std::string_view sql);
// The first column of the first row, or nullopt when there is no row or it is NULL.
std::optional<std::string> query_value(MYSQL* db, std::string_view sql);

// A prepared statement (binary protocol).
MysqlStmt prepare(MYSQL* db, std::string_view sql);
// mysql_stmt_execute with errors thrown; results stay unbuffered (rows stream as they are fetched).
void execute(MYSQL_STMT* stmt);

}  // namespace rowpipe
