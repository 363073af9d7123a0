// Test helper: smoke checks of the MariaDB and Redis wrappers against real servers ($MYSQL_URL,
// $MYSQL_SOCKET, $REDIS_URL), through the real C client libraries. Prints one line per check:
// `ok - SENTENCE`, `not ok - SENTENCE: DETAIL` or `skip - SENTENCE: REASON` (as `not ok` when CI=true);
// exits 0 when no check failed, 1 otherwise.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>

#include "cli/error.hpp"
#include "clients/mysql.hpp"
#include "clients/redis.hpp"
#include "clients/url.hpp"
#include "sql/converter.hpp"

namespace {

using rowpipe::Error;
using rowpipe::ErrorKind;

class Report {
 public:
  // Runs `body`; an empty return or no exception is a pass, a non-empty string the failure detail.
  void check(const std::string& sentence, const std::function<std::string()>& body) {
    std::string detail;
    try {
      detail = body();
    } catch (const std::exception& e) {
      detail = std::string("threw: ") + e.what();
    }
    if (detail.empty()) {
      std::printf("ok - %s\n", sentence.c_str());
    } else {
      not_ok(sentence, detail);
    }
    std::fflush(stdout);
  }
  void skip(const std::string& sentence, const std::string& reason) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string_view(ci) == "true") {
      not_ok(sentence, "skipped under CI=true: " + reason);
    } else {
      std::printf("skip - %s: %s\n", sentence.c_str(), reason.c_str());
    }
  }
  int failed() const { return failed_; }

 private:
  void not_ok(const std::string& sentence, const std::string& detail) {
    std::printf("not ok - %s: %s\n", sentence.c_str(), detail.c_str());
    ++failed_;
  }
  int failed_ = 0;
};

// Expects `body` to throw Error of `kind`; checks the message holds `must` and not `must_not`.
std::string expect_error(ErrorKind kind, const std::function<void()>& body, std::string_view must = {},
                         std::string_view must_not = {}) {
  try {
    body();
  } catch (const Error& e) {
    std::string what = e.what();
    if (e.kind() != kind) {
      return std::string("got ") + rowpipe::kind_name(e.kind()) + " (exit " +
             std::to_string(rowpipe::exit_code(e.kind())) + "), want " + rowpipe::kind_name(kind) + ": " + what;
    }
    if (!must.empty() && what.find(must) == std::string::npos)
      return "message lacks '" + std::string(must) + "': " + what;
    if (!must_not.empty() && what.find(must_not) != std::string::npos) {
      return "message shows '" + std::string(must_not) + "': " + what;
    }
    return {};
  }
  return "no error";
}

// A loopback port nobody listens on (bound, then released).
uint16_t closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string expect_eq(std::string_view got, std::string_view want) {
  if (got == want) return {};
  return "got '" + std::string(got) + "', want '" + std::string(want) + "'";
}

void mysql_checks(Report& r, const std::string& url_text) {
  rowpipe::Url base = rowpipe::parse_url(url_text, rowpipe::Scheme::kMysql);
  rowpipe::Mysql db;
  r.check("connect_mysql connects to " + base.redacted(), [&] {
    db = rowpipe::connect_mysql(base);
    return std::string();
  });
  if (!db) return;
  MYSQL* m = db.get();
  r.check("the server is MariaDB and reports its version", [&] {
    std::string version = mysql_get_server_info(m);
    return version.find("MariaDB") != std::string::npos ? std::string() : "version '" + version + "'";
  });
  r.check("binlog_format is ROW",
          [&] { return expect_eq(rowpipe::query_value(m, "SELECT @@binlog_format").value_or(""), "ROW"); });
  r.check("the session time zone is UTC",
          [&] { return expect_eq(rowpipe::query_value(m, "SELECT @@session.time_zone").value_or(""), "+00:00"); });
  r.check("the connection character set is utf8mb4",
          [&] { return expect_eq(rowpipe::query_value(m, "SELECT @@character_set_client").value_or(""), "utf8mb4"); });
  r.check("a database and table are created, a row inserted and selected back", [&] {
    rowpipe::execute(m, "CREATE DATABASE IF NOT EXISTS rowpipe_smoke");
    rowpipe::execute(m,
                     "CREATE OR REPLACE TABLE rowpipe_smoke.t (id INT PRIMARY KEY, name VARCHAR(20), b VARBINARY(8))");
    rowpipe::execute(m, "INSERT INTO rowpipe_smoke.t VALUES (1, 'Grüße 😀', x'00ff'), (2, NULL, '')");
    rowpipe::QueryResult res = rowpipe::query(m, "SELECT id, name, b FROM rowpipe_smoke.t ORDER BY id");
    if (res.rows() != 2 || res.columns() != 3 || res.find("name") != 1) return std::string("unexpected result shape");
    res.next();
    if (res[0] != "1" || res[1] != "Grüße 😀" || res[2] != std::string_view("\0\xff", 2))
      return std::string("row 1 differs");
    res.next();
    if (!res.is_null(1) || res.is_null(2) || !res[2].empty()) return std::string("row 2 differs");
    return std::string();
  });
  r.check("RowConverter streams the same rows as JSON through a prepared statement", [&] {
    rowpipe::MysqlStmt stmt = rowpipe::prepare(m, "SELECT id, name, b FROM rowpipe_smoke.t ORDER BY id");
    rowpipe::execute(stmt.get());
    rowpipe::RowConverter rows(stmt.get());
    std::string out;
    rows.append_types(out);
    while (rows.fetch()) {
      out += '\n';
      rows.append_row(out);
    }
    return expect_eq(out,
                     "{\"id\":\"int\",\"name\":\"varchar\",\"b\":\"varbinary\"}\n"
                     "{\"id\":1,\"name\":\"Grüße 😀\",\"b\":\"AP8=\"}\n"
                     "{\"id\":2,\"name\":null,\"b\":\"\"}");
  });
  r.check("one RowConverter serves repeated executions of a parameterised statement (--refetch)", [&] {
    rowpipe::MysqlStmt stmt = rowpipe::prepare(m, "SELECT id, name FROM rowpipe_smoke.t WHERE id >= ? ORDER BY id");
    rowpipe::RowConverter rows(stmt.get());  // bound once, before the first execution
    long long id = 0;
    MYSQL_BIND param{};
    param.buffer_type = MYSQL_TYPE_LONGLONG;
    param.buffer = &id;
    if (mysql_stmt_bind_param(stmt.get(), &param) != 0) return std::string(mysql_stmt_error(stmt.get()));
    std::string out;
    for (long long key : {2LL, 1LL, 1LL}) {
      id = key;
      rowpipe::execute(stmt.get());
      // The second run stops after one row of two: the next execution must still work.
      if (rows.fetch()) rows.append_row(out);
      if (key == 2 && rows.fetch()) return std::string("more than one row for id >= 2");
      out += ';';
    }
    return expect_eq(out, "{\"id\":2,\"name\":null};{\"id\":1,\"name\":\"Grüße 😀\"};{\"id\":1,\"name\":\"Grüße 😀\"};");
  });
  r.check("a missing table is a config error (exit 78)", [&] {
    return expect_error(
        ErrorKind::kConfig, [&] { rowpipe::query(m, "SELECT * FROM rowpipe_smoke.missing"); }, "1146");
  });

  // Credentials: a user whose password needs percent-encoding in a URL.
  const std::string password = "s3cr/t@pw:x";
  bool user_ok = false;
  r.check("a user with a password is created", [&] {
    rowpipe::execute(m, "CREATE OR REPLACE USER 'rowpipe_smoke'@'%' IDENTIFIED BY '" + password + "'");
    rowpipe::execute(m, "CREATE OR REPLACE USER 'rowpipe_smoke'@'localhost' IDENTIFIED BY '" + password + "'");
    user_ok = true;
    return std::string();
  });
  if (user_ok) {
    rowpipe::Url user = base;
    user.user = "rowpipe_smoke";
    user.password.reset();
    r.check("a percent-encoded URL password is decoded and accepted", [&] {
      std::string text = "mysql://rowpipe_smoke:s3cr%2Ft%40pw%3Ax@" + base.host().str();
      rowpipe::Url url = rowpipe::parse_url(text);
      rowpipe::Mysql c = rowpipe::connect_mysql(url);
      return expect_eq(rowpipe::query_value(c.get(), "SELECT CURRENT_USER()").value_or(""), "rowpipe_smoke@%");
    });
    r.check("MYSQL_PWD supplies the password when the URL has none", [&] {
      setenv("MYSQL_PWD", password.c_str(), 1);
      std::string detail;
      try {
        rowpipe::Mysql c = rowpipe::connect_mysql(user);
      } catch (const Error& e) {
        detail = e.what();
      }
      unsetenv("MYSQL_PWD");
      return detail;
    });
    r.check("--password-file supplies the password when the URL and environment have none", [&] {
      char path[] = "/tmp/rowpipe-smoke-pw.XXXXXX";
      int fd = mkstemp(path);
      std::string line = password + "\n";
      bool written = fd >= 0 && write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
      if (fd >= 0) close(fd);
      if (!written) return std::string("cannot write a temp file");
      rowpipe::MysqlOptions options;
      options.password_file = path;
      std::string detail;
      try {
        rowpipe::Mysql c = rowpipe::connect_mysql(user, options);
      } catch (const Error& e) {
        detail = e.what();
      }
      unlink(path);
      return detail;
    });
    r.check("--defaults-file supplies user and password when the URL names neither", [&] {
      char path[] = "/tmp/rowpipe-smoke-cnf.XXXXXX";
      int fd = mkstemp(path);
      std::string text = "[client]\nuser=rowpipe_smoke\npassword=" + password + "\n";
      bool written = fd >= 0 && write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
      if (fd >= 0) close(fd);
      if (!written) return std::string("cannot write a temp file");
      rowpipe::MysqlOptions options;
      options.defaults_file = path;
      std::string detail;
      try {
        rowpipe::Mysql c = rowpipe::connect_mysql(rowpipe::parse_url("mysql://" + base.host().str()), options);
        detail = expect_eq(rowpipe::query_value(c.get(), "SELECT CURRENT_USER()").value_or(""), "rowpipe_smoke@%");
      } catch (const Error& e) {
        detail = e.what();
      }
      unlink(path);
      return detail;
    });
    r.check("a wrong password is a permission error (exit 77) and never shown", [&] {
      rowpipe::Url wrong = user;
      wrong.password = "wrong-password-42";
      return expect_error(
          ErrorKind::kPermission, [&] { rowpipe::connect_mysql(wrong); }, "rowpipe_smoke:***@", "wrong-password-42");
    });
    r.check("the test user is dropped", [&] {
      rowpipe::execute(m, "DROP USER 'rowpipe_smoke'@'%', 'rowpipe_smoke'@'localhost'");
      return std::string();
    });
  }

  r.check("an unreachable port is an unavailable error (exit 69)", [&] {
    rowpipe::Url closed = base;
    closed.hosts[0].port = closed_port();
    rowpipe::MysqlOptions options;
    options.connect_timeout = 3;
    return expect_error(
        ErrorKind::kUnavailable, [&] { rowpipe::connect_mysql(closed, options); },
        "127.0.0.1:" + std::to_string(closed.hosts[0].port));
  });
  if (const char* socket = std::getenv("MYSQL_SOCKET"); socket != nullptr && *socket != '\0') {
    r.check("connect_mysql connects through the unix socket", [&] {
      rowpipe::MysqlOptions options;
      options.socket = socket;
      rowpipe::Url local = base;
      local.user = "root";
      rowpipe::Mysql c = rowpipe::connect_mysql(local, options);
      std::string info = mysql_get_host_info(c.get());
      return info.find("socket") != std::string::npos ? std::string() : "host info '" + info + "'";
    });
  } else {
    r.skip("connect_mysql connects through the unix socket", "MYSQL_SOCKET is not set");
  }
  std::string have_ssl = rowpipe::query_value(m, "SELECT @@have_ssl").value_or("");
  if (have_ssl != "YES") {
    r.check("ssl-mode=REQUIRED fails against a server without TLS (config error, exit 78)", [&] {
      rowpipe::MysqlOptions options;
      options.ssl_mode = "REQUIRED";
      return expect_error(
          ErrorKind::kConfig, [&] { rowpipe::connect_mysql(base, options); }, "2026");
    });
    r.check("ssl-mode=VERIFY_CA refuses a server without TLS before authenticating (config error)", [&] {
      rowpipe::MysqlOptions options;
      options.ssl_ca = "/etc/ssl/certs/ca-certificates.crt";
      return expect_error(
          ErrorKind::kConfig, [&] { rowpipe::connect_mysql(base, options); }, "2026");
    });
    r.check("ssl-mode=PREFERRED falls back to plain TCP against a server without TLS", [&] {
      rowpipe::Url preferred = rowpipe::parse_url(base.raw + (base.query.empty() ? "?" : "&") + "ssl-mode=preferred");
      rowpipe::Mysql c = rowpipe::connect_mysql(preferred);
      return std::string();
    });
  } else {
    r.check("ssl-mode=REQUIRED connects over TLS", [&] {
      rowpipe::MysqlOptions options;
      options.ssl_mode = "REQUIRED";
      rowpipe::Mysql c = rowpipe::connect_mysql(base, options);
      const char* cipher = mysql_get_ssl_cipher(c.get());
      return cipher != nullptr ? std::string() : std::string("no TLS cipher in use");
    });
  }
  rowpipe::execute(m, "DROP DATABASE IF EXISTS rowpipe_smoke");
}

void redis_checks(Report& r, const std::string& url_text) {
  rowpipe::Url base = rowpipe::parse_url(url_text, rowpipe::Scheme::kRedis);
  rowpipe::RedisContext c;
  r.check("connect_redis connects to " + base.redacted(), [&] {
    c = rowpipe::connect_redis(base);
    return std::string();
  });
  if (!c) return;
  redisContext* ctx = c.get();
  r.check("PING answers PONG",
          [&] { return expect_eq(rowpipe::reply_text(rowpipe::command(ctx, {"PING"}).get()), "PONG"); });
  r.check("HSET/HGETALL round-trips binary-safe fields and values", [&] {
    const std::string_view key("rowpipe:smoke:h\0k", 17);
    const std::string_view field("f\0\xff\r\n", 5);
    const std::string_view value("\0\x01\x80\xfe\xff \"\n", 8);
    rowpipe::command(ctx, {"DEL", key});
    rowpipe::RedisReply set = rowpipe::command(ctx, {"HSET", key, field, value, "plain", ""});
    if (set->type != REDIS_REPLY_INTEGER || set->integer != 2) return std::string("HSET did not add 2 fields");
    rowpipe::RedisReply all = rowpipe::command(ctx, {"HGETALL", key});
    if (all->type != REDIS_REPLY_ARRAY || all->elements != 4) return std::string("HGETALL shape");
    for (size_t i = 0; i < 4; i += 2) {
      std::string_view f = rowpipe::reply_text(all->element[i]);
      std::string_view v = rowpipe::reply_text(all->element[i + 1]);
      if (f == field && v != value) return std::string("binary value differs");
      if (f == "plain" && !v.empty()) return std::string("empty value differs");
      if (f != field && f != "plain") return std::string("unexpected field");
    }
    rowpipe::command(ctx, {"DEL", key});
    return std::string();
  });
  r.check("1000 pipelined commands get 1000 replies in order", [&] {
    std::string key;
    std::string value;
    for (int i = 0; i < 1000; ++i) {
      key = "rowpipe:smoke:p:" + std::to_string(i);
      value = "v" + std::to_string(i);
      rowpipe::append_command(ctx, {"SET", key, value});
    }
    for (int i = 0; i < 1000; ++i) {
      rowpipe::RedisReply reply = rowpipe::get_reply(ctx);
      if (reply->type != REDIS_REPLY_STATUS || rowpipe::reply_text(reply.get()) != "OK") {
        return "reply " + std::to_string(i) + " is not OK";
      }
    }
    for (int i = 0; i < 1000; ++i) rowpipe::append_command(ctx, {"GET", "rowpipe:smoke:p:" + std::to_string(i)});
    for (int i = 0; i < 1000; ++i) {
      rowpipe::RedisReply reply = rowpipe::get_reply(ctx);
      if (rowpipe::reply_text(reply.get()) != "v" + std::to_string(i)) return "GET " + std::to_string(i) + " differs";
    }
    return std::string();
  });
  r.check("a pipelined error reply is returned, not thrown, and the pipeline goes on", [&] {
    rowpipe::append_command(ctx, {"HSET", "rowpipe:smoke:p:1", "f", "v"});  // a string key: WRONGTYPE
    rowpipe::append_command(ctx, {"GET", "rowpipe:smoke:p:2"});
    rowpipe::RedisReply first = rowpipe::get_reply(ctx);
    rowpipe::RedisReply second = rowpipe::get_reply(ctx);
    if (!rowpipe::is_error(first.get())) return std::string("first reply is not an error");
    return expect_eq(rowpipe::reply_text(second.get()), "v2");
  });
  r.check("command() throws an error reply as a data error (exit 65)", [&] {
    return expect_error(
        ErrorKind::kData,
        [&] {
          rowpipe::command(ctx, {"HSET", "rowpipe:smoke:p:1", "f", "v"});
        },
        "WRONGTYPE");
  });
  for (int i = 0; i < 1000; i += 100) {
    std::string_view keys[100];
    std::string names[100];
    for (int k = 0; k < 100; ++k) {
      names[k] = "rowpipe:smoke:p:" + std::to_string(i + k);
      keys[k] = names[k];
    }
    std::string_view del[101];
    del[0] = "DEL";
    for (int k = 0; k < 100; ++k) del[k + 1] = keys[k];
    rowpipe::command(ctx, std::span<const std::string_view>(del, 101));
  }
  r.check("the URL's /DB selects that database", [&] {
    rowpipe::Url db3 = base;
    db3.path = "3";
    rowpipe::RedisContext c3 = rowpipe::connect_redis(db3);
    rowpipe::command(c3.get(), {"SET", "rowpipe:smoke:db", "3"});
    bool in_zero = rowpipe::command(ctx, {"EXISTS", "rowpipe:smoke:db"})->integer != 0;
    rowpipe::command(c3.get(), {"DEL", "rowpipe:smoke:db"});
    return in_zero ? std::string("the key landed in db 0") : std::string();
  });
  r.check("an ACL user authenticates with AUTH USER PASS from the URL", [&] {
    rowpipe::command(ctx, {"ACL", "SETUSER", "rowpipe_smoke", "on", ">p@ss/w", "~*", "+@all"});
    rowpipe::RedisContext u =
        rowpipe::connect_redis(rowpipe::parse_url("redis://rowpipe_smoke:p%40ss%2Fw@" + base.host().str()));
    return expect_eq(rowpipe::reply_text(rowpipe::command(u.get(), {"ACL", "WHOAMI"}).get()), "rowpipe_smoke");
  });
  r.check("a wrong Redis password is a permission error (exit 77) and never shown", [&] {
    rowpipe::Url wrong = rowpipe::parse_url("redis://rowpipe_smoke:nope-123@" + base.host().str());
    std::string detail = expect_error(
        ErrorKind::kPermission, [&] { rowpipe::connect_redis(wrong); }, "***", "nope-123");
    rowpipe::command(ctx, {"ACL", "DELUSER", "rowpipe_smoke"});
    return detail;
  });
  r.check("an unreachable Redis port is an unavailable error (exit 69)", [&] {
    rowpipe::Url closed = base;
    closed.hosts[0].port = closed_port();
    return expect_error(ErrorKind::kUnavailable, [&] { rowpipe::connect_redis(closed, std::chrono::seconds(3)); });
  });
}

}  // namespace

int main() {
  Report report;
  rowpipe::MysqlLibrary library;
  const char* mysql_url = std::getenv("MYSQL_URL");
  if (mysql_url == nullptr || *mysql_url == '\0') {
    report.skip("MariaDB client checks", "MYSQL_URL is not set");
  } else {
    try {
      mysql_checks(report, mysql_url);
    } catch (const std::exception& e) {
      report.check("MariaDB client checks run to the end", [&] { return std::string(e.what()); });
    }
  }
  const char* redis_url = std::getenv("REDIS_URL");
  if (redis_url == nullptr || *redis_url == '\0') {
    report.skip("Redis client checks", "REDIS_URL is not set");
  } else {
    try {
      redis_checks(report, redis_url);
    } catch (const std::exception& e) {
      report.check("Redis client checks run to the end", [&] { return std::string(e.what()); });
    }
  }
  return report.failed() == 0 ? 0 : 1;
}
