// Connecting to MySQL/MariaDB from a URL and mapping Connector/C errors onto rowpipe's error kinds.
#include "clients/mysql.hpp"

#include <errmsg.h>
#include <mysqld_error.h>

#include <charconv>

namespace rowpipe {
namespace {

// A URL query parameter by name, '_' accepted for '-' (ssl_ca for ssl-ca).
std::string url_param(const Url& url, std::string_view name) {
  for (auto it = url.query.rbegin(); it != url.query.rend(); ++it) {
    const std::string& key = it->first;
    if (key.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < key.size() && same; ++i) {
      same = key[i] == name[i] || (key[i] == '_' && name[i] == '-');
    }
    if (same) return it->second;
  }
  return {};
}

std::string pick(const std::string& option, const Url& url, std::string_view name) {
  return option.empty() ? url_param(url, name) : option;
}

unsigned pick_seconds(unsigned option, const Url& url, std::string_view name) {
  if (option != 0) return option;
  std::string text = url_param(url, name);
  if (text.empty()) return 0;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    fail(ErrorKind::kUsage,
         "invalid " + std::string(name) + " '" + text + "' in " + url.redacted() + ": expected seconds");
  }
  return value;
}

std::string upper(std::string text) {
  for (char& c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == '-') c = '_';
  }
  return text;
}

void set_option(MYSQL* db, mysql_option option, const void* value, const char* name) {
  if (mysql_optionsv(db, option, value) != 0) {
    fail(ErrorKind::kConfig, std::string("cannot set MySQL option ") + name + ": " + mysql_error(db));
  }
}

std::string describe(unsigned code, const char* message) {
  return std::string(message) + " (error " + std::to_string(code) + ")";
}

std::string shorten(std::string_view sql) {
  constexpr size_t kMax = 200;
  if (sql.size() <= kMax) return std::string(sql);
  return std::string(sql.substr(0, kMax)) + "...";
}

}  // namespace

MysqlLibrary::MysqlLibrary() {
  if (mysql_library_init(0, nullptr, nullptr) != 0)
    fail(ErrorKind::kInternal, "cannot initialise the MySQL client library");
}

MysqlLibrary::~MysqlLibrary() { mysql_library_end(); }

ErrorKind mysql_error_kind(unsigned code) noexcept {
  switch (code) {
    case ER_DBACCESS_DENIED_ERROR:
    case ER_ACCESS_DENIED_ERROR:
    case ER_HOST_NOT_PRIVILEGED:
    case ER_TABLEACCESS_DENIED_ERROR:
    case ER_COLUMNACCESS_DENIED_ERROR:
    case ER_SPECIFIC_ACCESS_DENIED_ERROR:
    case ER_KILL_DENIED_ERROR:
    case ER_NOT_SUPPORTED_AUTH_MODE:
    case ER_ACCESS_DENIED_NO_PASSWORD_ERROR:
    case ER_MUST_CHANGE_PASSWORD:
    case ER_MUST_CHANGE_PASSWORD_LOGIN:
    case ER_ACCOUNT_HAS_BEEN_LOCKED:
    case CR_AUTH_PLUGIN_CANNOT_LOAD:
    case CR_AUTH_PLUGIN_ERR: return ErrorKind::kPermission;
    case CR_SOCKET_CREATE_ERROR:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_IPSOCK_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_SERVER_HANDSHAKE_ERR:
    case CR_ERR_NET_READ:
    case CR_ERR_NET_WRITE:
    case ER_CON_COUNT_ERROR:
    case ER_OUT_OF_RESOURCES:
    case ER_SERVER_SHUTDOWN:
    case ER_HOST_IS_BLOCKED:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_LOCK_DEADLOCK:
    case ER_USER_LIMIT_REACHED:
    case ER_QUERY_INTERRUPTED:
    case ER_CONNECTION_KILLED:
    case ER_STATEMENT_TIMEOUT:
    case ER_USER_LOCK_DEADLOCK: return ErrorKind::kUnavailable;
    case CR_SSL_CONNECTION_ERROR:
    case CR_CANT_READ_CHARSET:
    case CR_FILE_NOT_FOUND:
    case CR_FILE_READ: return ErrorKind::kConfig;
    case CR_OUT_OF_MEMORY: return ErrorKind::kInternal;
    default: break;
  }
  if ((code >= CR_MIN_ERROR && code <= CR_MAX_ERROR) || code >= 5000) return ErrorKind::kProtocol;
  return ErrorKind::kConfig;
}

void throw_mysql_error(MYSQL* db, std::string_view context) {
  unsigned code = mysql_errno(db);
  fail(mysql_error_kind(code), std::string(context) + ": " + describe(code, mysql_error(db)));
}

void throw_stmt_error(MYSQL_STMT* stmt, std::string_view context) {
  unsigned code = mysql_stmt_errno(stmt);
  fail(mysql_error_kind(code), std::string(context) + ": " + describe(code, mysql_stmt_error(stmt)));
}

Mysql connect_mysql(const Url& url, const MysqlOptions& options) {
  if (url.scheme != Scheme::kMysql) fail(ErrorKind::kUsage, "expected a mysql:// URL, got " + url.redacted());
  Mysql db(mysql_init(nullptr));
  if (!db) fail(ErrorKind::kInternal, "mysql_init failed (out of memory)");
  MYSQL* m = db.get();

  std::string defaults_file = pick(options.defaults_file, url, "defaults-file");
  if (!defaults_file.empty()) {
    set_option(m, MYSQL_READ_DEFAULT_FILE, defaults_file.c_str(), "defaults-file");
    set_option(m, MYSQL_READ_DEFAULT_GROUP, "client", "defaults-group");
  }
  unsigned connect_timeout = pick_seconds(options.connect_timeout, url, "connect-timeout");
  if (connect_timeout == 0) connect_timeout = 10;
  unsigned read_timeout = pick_seconds(options.read_timeout, url, "read-timeout");
  unsigned write_timeout = pick_seconds(options.write_timeout, url, "write-timeout");
  set_option(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout, "connect-timeout");
  if (read_timeout != 0) set_option(m, MYSQL_OPT_READ_TIMEOUT, &read_timeout, "read-timeout");
  if (write_timeout != 0) set_option(m, MYSQL_OPT_WRITE_TIMEOUT, &write_timeout, "write-timeout");
  set_option(m, MYSQL_SET_CHARSET_NAME, "utf8mb4", "charset");
  // A server may ask the client for any local file with LOAD DATA LOCAL: never allow it.
  unsigned local_infile = 0;
  set_option(m, MYSQL_OPT_LOCAL_INFILE, &local_infile, "local-infile");

  std::string ssl_mode = upper(pick(options.ssl_mode, url, "ssl-mode"));
  std::string ssl_ca = pick(options.ssl_ca, url, "ssl-ca");
  std::string ssl_cert = pick(options.ssl_cert, url, "ssl-cert");
  std::string ssl_key = pick(options.ssl_key, url, "ssl-key");
  if (ssl_mode.empty()) {
    ssl_mode = !ssl_ca.empty() ? "VERIFY_CA" : (!ssl_cert.empty() || !ssl_key.empty()) ? "PREFERRED" : "";
  }
  if (ssl_mode == "DISABLED") {
    if (!ssl_ca.empty() || !ssl_cert.empty() || !ssl_key.empty()) {
      fail(ErrorKind::kUsage, "ssl-mode DISABLED contradicts ssl-ca/ssl-cert/ssl-key");
    }
  } else if (ssl_mode == "PREFERRED" || ssl_mode == "REQUIRED" || ssl_mode == "VERIFY_CA" ||
             ssl_mode == "VERIFY_IDENTITY") {
    if (!ssl_ca.empty()) set_option(m, MYSQL_OPT_SSL_CA, ssl_ca.c_str(), "ssl-ca");
    if (!ssl_cert.empty()) set_option(m, MYSQL_OPT_SSL_CERT, ssl_cert.c_str(), "ssl-cert");
    if (!ssl_key.empty()) set_option(m, MYSQL_OPT_SSL_KEY, ssl_key.c_str(), "ssl-key");
    // Connector/C 3.3: SSL_ENFORCE means "TLS when the server offers it" (a server without TLS still
    // gets a plain connection); only VERIFY_SERVER_CERT refuses such a server, before authenticating.
    my_bool on = 1;
    set_option(m, MYSQL_OPT_SSL_ENFORCE, &on, "ssl-mode");
    if (ssl_mode == "VERIFY_CA" || ssl_mode == "VERIFY_IDENTITY") {
      set_option(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on, "ssl-mode");
    }
  } else if (!ssl_mode.empty()) {
    fail(ErrorKind::kUsage,
         "unknown ssl-mode '" + ssl_mode + "' (expected DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY)");
  }

  std::string socket = pick(options.socket, url, "socket");
  const char* host = url.host().host.c_str();
  unsigned port = url.host().port;
  if (!socket.empty()) {
    unsigned protocol = MYSQL_PROTOCOL_SOCKET;
    set_option(m, MYSQL_OPT_PROTOCOL, &protocol, "protocol");
    host = "localhost";
    port = 0;
  } else {
    unsigned protocol = MYSQL_PROTOCOL_TCP;  // "localhost" would otherwise mean the default socket
    set_option(m, MYSQL_OPT_PROTOCOL, &protocol, "protocol");
  }

  std::optional<std::string> password = resolve_password(url, options.password_file);
  // Null user/password/db let an option file (defaults-file) supply them.
  const char* user = url.user.empty() ? nullptr : url.user.c_str();
  const char* db_name = url.path.empty() ? nullptr : url.path.c_str();
  MYSQL* ok = mysql_real_connect(m, host, user, password ? password->c_str() : nullptr, db_name, port,
                                 socket.empty() ? nullptr : socket.c_str(), 0);
  if (password) std::fill(password->begin(), password->end(), '\0');
  if (ok == nullptr) {
    std::string where = url.redacted();
    if (!socket.empty()) where += " (socket " + socket + ")";
    throw_mysql_error(m, "cannot connect to " + where);
  }
  if (ssl_mode == "REQUIRED" && mysql_get_ssl_cipher(m) == nullptr) {
    // Checked after the handshake (see above): the server did not offer TLS.
    fail(ErrorKind::kConfig,
         "cannot connect to " + url.redacted() + ": ssl-mode REQUIRED but the server does not offer TLS (error 2026)");
  }
  if (options.utc && mysql_query(m, "SET time_zone='+00:00'") != 0) {
    throw_mysql_error(m, "cannot set the session time zone to UTC on " + url.redacted());
  }
  return db;
}

QueryResult::QueryResult(MYSQL_RES* res) : res_(res) {}

bool QueryResult::next() {
  if (!res_) return false;
  row_ = mysql_fetch_row(res_.get());
  if (row_ == nullptr) return false;
  lengths_ = mysql_fetch_lengths(res_.get());
  return true;
}

unsigned QueryResult::columns() const { return res_ ? mysql_num_fields(res_.get()) : 0; }

uint64_t QueryResult::rows() const { return res_ ? mysql_num_rows(res_.get()) : 0; }

std::string_view QueryResult::name(unsigned column) const {
  const MYSQL_FIELD* f = mysql_fetch_field_direct(res_.get(), column);
  return std::string_view(f->name, f->name_length);
}

int QueryResult::find(std::string_view name) const {
  for (unsigned i = 0; i < columns(); ++i) {
    if (this->name(i) == name) return static_cast<int>(i);
  }
  return -1;
}

std::string sql_literal(MYSQL* db, std::string_view text) {
  std::string out(text.size() * 2 + 3, '\0');
  out[0] = '\'';
  unsigned long n = mysql_real_escape_string(db, out.data() + 1, text.data(), static_cast<unsigned long>(text.size()));
  out.resize(n + 1);
  out += '\'';
  return out;
}

QueryResult query(MYSQL* db, std::string_view sql) {
  if (mysql_real_query(db, sql.data(), sql.size()) != 0) throw_mysql_error(db, "query failed: " + shorten(sql));
  MYSQL_RES* res = mysql_store_result(db);
  if (res == nullptr && mysql_field_count(db) != 0) throw_mysql_error(db, "reading the result failed: " + shorten(sql));
  return QueryResult(res);
}

void execute(MYSQL* db, std::string_view sql) {
  QueryResult discarded = query(db, sql);
  // A multi-result call (stored procedure) leaves more results: drain them so the connection stays usable.
  while (mysql_more_results(db)) {
    if (mysql_next_result(db) > 0) throw_mysql_error(db, "query failed: " + shorten(sql));
    MysqlResult more(mysql_store_result(db));
  }
}

std::optional<std::string> query_value(MYSQL* db, std::string_view sql) {
  QueryResult result = query(db, sql);
  if (!result || result.columns() == 0 || !result.next() || result.is_null(0)) return std::nullopt;
  return std::string(result[0]);
}

MysqlStmt prepare(MYSQL* db, std::string_view sql) {
  MysqlStmt stmt(mysql_stmt_init(db));
  if (!stmt) throw_mysql_error(db, "mysql_stmt_init failed");
  if (mysql_stmt_prepare(stmt.get(), sql.data(), sql.size()) != 0) {
    throw_stmt_error(stmt.get(), "cannot prepare: " + shorten(sql));
  }
  return stmt;
}

void execute(MYSQL_STMT* stmt) {
  if (mysql_stmt_execute(stmt) != 0) throw_stmt_error(stmt, "statement failed");
}

}  // namespace rowpipe
