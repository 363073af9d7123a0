// binlog-tail: decodes MySQL/MariaDB binary and relay log files into rowpipe-events(5) lines
// (man/binlog-tail.1), or streams them live from a server as a replica (--mysql).
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

#include "cli/app.hpp"
#include "cli/error.hpp"
#include "cli/log.hpp"
#include "clients/mysql.hpp"
#include "config.hpp"
#include "dir_output.hpp"
#include "file_mode.hpp"
#include "live_mode.hpp"
#include "schema.hpp"
#include "snapshot.hpp"

namespace rowpipe::tail {
namespace {

constexpr const char* kFileForms = "give FILE:POS (GTID positions and 'current' need --mysql)";

int main_body(ToolArgs& args) {
  Config c;
  CLI::App app{"Decode MySQL/MariaDB binary and relay log files into rowpipe-events(5) JSON lines.", "binlog-tail"};
  add_version_flag(app, "binlog-tail");
  app.add_option("FILE", c.files, "binary or relay log files, decoded in the order given");
  std::string from, to, format = "native", rotate, snapshot_only;
  app.add_option("--from", from, "start at FILE:POS, a transaction boundary (a line's next); or earliest");
  app.add_option("--to", to, "stop before the first transaction that starts at or after FILE:POS");
  app.add_option("--format", format, "native (default) or seed (the original client's shape)")
      ->check(CLI::IsMember({"native", "seed"}));
  app.add_option("--timezone", c.timezone, "zone of the time field: UTC (default; seed: local), +HH:MM, a tz name");
  app.add_flag("--allow-statements", c.allow_statements, "skip statement-based changes with a warning");
  app.add_option("--include", c.include, "keep only tables whose db.table matches REGEX (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--exclude", c.exclude, "drop tables whose db.table matches REGEX (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--events", c.events, "keep only these changes: a subset of insert,update,delete,ddl");
  app.add_option("--max-xa-bytes", c.max_xa_bytes, "memory for rows of prepared XA transactions (default 256M)")
      ->transform(CLI::AsSizeValue(false));
  app.add_option("--schema-from", c.schema_from, "mysql://USER@HOST:PORT: names and types for tables logged without");
  app.add_option("--password-file", c.password_file, "read the --mysql/--schema-from password from FILE");
  app.add_option("--defaults-file", c.defaults_file, "read connection settings from a MySQL option file");
  app.add_flag("-q,--quiet", c.quiet, "only warnings and errors on stderr");
  app.add_flag("-v,--verbose", c.verbose, "also a summary at the end");

  auto* live = app.add_option_group("Live mode (--mysql)");
  std::vector<CLI::Option*> live_only = {
      live->add_option("--mysql", c.mysql, "connect as a replica to mysql://USER@HOST:PORT (or @FILE holding it)"),
      live->add_flag("--stop-at-end", c.stop_at_end, "exit once caught up"),
      live->add_option("--resume", c.resume, "start from the checkpoint in FILE (when it exists; else --from)"),
      live->add_option("--checkpoint", c.checkpoint, "after each transaction written, replace FILE with the position"),
      live->add_option("--server-id", c.server_id, "the replica's server id (default: random, 2147483648-4294967295)"),
      live->add_option("--heartbeat", c.heartbeat, "the server's heartbeat period when idle, seconds (default 1)")
          ->check(CLI::Range(0.0, 4294967.0)),
      live->add_option("--read-timeout", c.read_timeout,
                       "a connection silent this long is lost, seconds (default max(10, 4 x heartbeat))")
          ->check(CLI::Range(0.0, 31536000.0)),
      live->add_option("--idle-interval", c.idle_interval, "a HEARTBEAT line at least this often, seconds (default 3)")
          ->check(CLI::Range(0.001, 31536000.0)),
      live->add_option("--ssl-mode", c.ssl_mode, "DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY"),
      live->add_option("--ssl-ca", c.ssl_ca, "TLS: CA certificate file"),
      live->add_option("--ssl-cert", c.ssl_cert, "TLS: client certificate file"),
      live->add_option("--ssl-key", c.ssl_key, "TLS: client key file"),
      live->add_option("--max-retries", c.max_retries,
                       "reconnection attempts in a row before giving up (default: no bound)")
          ->check(CLI::Range(-1L, 1000000000L)),
      live->add_option("--retry-timeout", c.retry_timeout,
                       "give up reconnecting after this many seconds (default: never)")
          ->check(CLI::Range(0.0, 31536000.0)),
      live->add_option("--stats-interval", c.stats_interval, "a JSON status line on stderr every N seconds")
          ->check(CLI::Range(0.0, 31536000.0)),
      live->add_option("--dir", c.dir, "write files binlog_STAMP.log in DIR instead of stdout"),
      live->add_option("--rotate", rotate, "--dir: a new file each y, m, d (default), h or i (minute)"),
      live->add_option("--rotate-size", c.rotate_size, "--dir: a new file once one holds SIZE bytes (k, m, g)")
          ->transform(CLI::AsSizeValue(false)),
      live->add_option("--snapshot", c.snapshot, "first the rows of DB.TABLE,... from one consistent snapshot"),
      live->add_option("--snapshot-only", snapshot_only, "the rows of DB.TABLE,... from one snapshot, then exit"),
  };
  if (int code = parse_options(app, args); code >= 0) return code;

  c.format = format == "seed" ? binlog::LineFormat::kSeed : binlog::LineFormat::kNative;
  if (c.quiet) log::set_threshold(log::Level::kWarning);
  if (c.verbose) log::set_threshold(log::Level::kInfo);

  if (!c.mysql.empty()) {
    if (!c.files.empty())
      fail(ErrorKind::kUsage, "--mysql streams from a server: give no FILE (" + c.files.front() + ")");
    c.from_text = from;
    if (!to.empty()) c.to = position_option("--to", to, kFileForms);
    if (!rotate.empty()) c.rotate = parse_rotate(rotate);
    if (!snapshot_only.empty()) {
      if (!c.snapshot.empty()) fail(ErrorKind::kUsage, "give --snapshot or --snapshot-only, not both");
      c.snapshot = snapshot_only;
      c.snapshot_only = true;
    }
    if (!c.snapshot.empty()) {
      parse_snapshot_tables(c.snapshot);
      if (c.format == binlog::LineFormat::kSeed)
        fail(ErrorKind::kUsage, "--snapshot writes native lines (the seed format has no snapshot lines)");
      if (!from.empty())
        fail(ErrorKind::kUsage, "--snapshot starts the stream at the snapshot's position: drop --from " + from);
    }
    if (c.dir.empty() && (!rotate.empty() || c.rotate_size != 0))
      fail(ErrorKind::kUsage, std::string(rotate.empty() ? "--rotate-size" : "--rotate") + " needs --dir");
    MysqlLibrary mysql_library;
    return run_live(c);
  }
  for (CLI::Option* o : live_only)
    if (o->count() > 0 && o->get_name() != "--mysql")
      fail(ErrorKind::kUsage, o->get_name() + " needs --mysql (live mode)");
  if (c.files.empty()) fail(ErrorKind::kUsage, "no FILE given (see binlog-tail --help)");
  if (!from.empty() && from != "earliest") c.from = position_option("--from", from, kFileForms);
  if (!to.empty()) c.to = position_option("--to", to, kFileForms);
  if (c.from && c.to && *c.to < *c.from)
    fail(ErrorKind::kUsage, "--to " + c.to->str() + " comes before --from " + c.from->str());

  std::optional<MysqlLibrary> mysql_library;
  std::unique_ptr<MysqlSchema> schema;
  if (!c.schema_from.empty()) {
    mysql_library.emplace();
    schema = MysqlSchema::connect(c.schema_from, c.password_file, c.defaults_file);
  }
  return run_files(c, schema.get());
}

}  // namespace
}  // namespace rowpipe::tail

int main(int argc, char** argv) { return rowpipe::run_tool("binlog-tail", argc, argv, rowpipe::tail::main_body); }
