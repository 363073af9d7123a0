// binlog-tail: decodes MySQL/MariaDB binary and relay log files into rowpipe-events(5) lines
// (man/binlog-tail.1). Live replica mode is not implemented yet.
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

#include "cli/app.hpp"
#include "cli/error.hpp"
#include "cli/log.hpp"
#include "clients/mysql.hpp"
#include "config.hpp"
#include "file_mode.hpp"
#include "schema.hpp"

namespace rowpipe::tail {
namespace {

// FILE:POS with FILE reduced to its base name (positions name files as the server does).
Position position_option(const std::string& option, const std::string& text) {
  auto p = Position::parse(text);
  if (!p || p->file.empty())
    fail(ErrorKind::kUsage,
         option + " " + text + ": give FILE:POS (GTID sets and 'current' need --mysql, which is not implemented yet)");
  if (size_t slash = p->file.find_last_of('/'); slash != std::string::npos) p->file.erase(0, slash + 1);
  if (p->offset < 4) fail(ErrorKind::kUsage, option + " " + text + ": positions start at 4 (after the magic bytes)");
  return *p;
}

int main_body(ToolArgs& args) {
  Config c;
  CLI::App app{"Decode MySQL/MariaDB binary and relay log files into rowpipe-events(5) JSON lines.", "binlog-tail"};
  add_version_flag(app, "binlog-tail");
  app.add_option("FILE", c.files, "binary or relay log files, decoded in the order given");
  std::string from, to, format = "native";
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
  app.add_option("--password-file", c.password_file, "read the --schema-from password from FILE");
  app.add_option("--defaults-file", c.defaults_file, "read --schema-from connection settings from a MySQL option file");
  app.add_flag("-q,--quiet", c.quiet, "only warnings and errors on stderr");
  app.add_flag("-v,--verbose", c.verbose, "also a summary at the end");

  // Documented now, built by the live replica issue: accepted, then refused with exit 69.
  auto* live = app.add_option_group("Live mode, snapshots, checkpoints and output files (not implemented yet)");
  std::string unused;
  bool unused_flag = false;
  std::vector<CLI::Option*> later = {
      live->add_option("--mysql", unused, "connect as a replica to mysql://USER@HOST:PORT"),
      live->add_flag("--stop-at-end", unused_flag, "exit once caught up"),
      live->add_option("--resume", unused, "start from the checkpoint in FILE"),
      live->add_option("--server-id", unused, "the replica's server id"),
      live->add_option("--heartbeat", unused, "heartbeat period in seconds"),
      live->add_option("--ssl-mode", unused, "TLS mode"),
      live->add_option("--ssl-ca", unused, "TLS CA file"),
      live->add_option("--ssl-cert", unused, "TLS certificate file"),
      live->add_option("--ssl-key", unused, "TLS key file"),
      live->add_option("--max-retries", unused, "reconnection attempts"),
      live->add_option("--retry-timeout", unused, "reconnection time bound in seconds"),
      live->add_option("--checkpoint", unused, "write the position after each transaction to FILE"),
      live->add_option("--idle-interval", unused, "HEARTBEAT line period in seconds"),
      live->add_option("--dir", unused, "write binlog_STAMP.log files in DIR"),
      live->add_option("--rotate", unused, "new file each y, m, d, h or i"),
      live->add_option("--rotate-size", unused, "new file at SIZE"),
      live->add_option("--stats-interval", unused, "status line period in seconds"),
      live->add_option("--snapshot", unused, "snapshot DB.TABLE,... first"),
      live->add_option("--snapshot-only", unused, "snapshot DB.TABLE,... and exit"),
  };
  if (int code = parse_options(app, args); code >= 0) return code;
  for (CLI::Option* o : later)
    if (o->count() > 0)
      fail(ErrorKind::kUnavailable,
           o->get_name() +
               ": not implemented yet (this release decodes binlog files; live mode, snapshots, "
               "checkpoints and output files are being built; see man binlog-tail)");

  if (c.files.empty()) fail(ErrorKind::kUsage, "no FILE given (see binlog-tail --help)");
  if (!from.empty() && from != "earliest") c.from = position_option("--from", from);
  if (!to.empty()) c.to = position_option("--to", to);
  if (c.from && c.to && *c.to < *c.from)
    fail(ErrorKind::kUsage, "--to " + c.to->str() + " comes before --from " + c.from->str());
  c.format = format == "seed" ? binlog::LineFormat::kSeed : binlog::LineFormat::kNative;
  if (c.quiet) log::set_threshold(log::Level::kWarning);
  if (c.verbose) log::set_threshold(log::Level::kInfo);

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
