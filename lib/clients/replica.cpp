// The replica connection: settings, COM_BINLOG_DUMP through mariadb_rpl_open, raw events from
// mariadb_rpl_fetch (the library's parsed fields are not used: some are wrong, see ENVIRONMENT.md).
#include "clients/replica.hpp"

#include <sys/socket.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include <cctype>
#include <random>

#include "cli/error.hpp"

namespace rowpipe {
namespace {

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

uint32_t random_server_id() {
  std::random_device rd;
  std::uniform_int_distribution<uint32_t> pick(2147483648u, 4294967295u);
  return pick(rd);
}

bool is_mariadb_gtid(std::string_view text) {
  if (text.empty()) return false;
  size_t at = 0;
  while (at <= text.size()) {
    size_t comma = text.find(',', at);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view one = text.substr(at, comma - at);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    size_t d1 = one.find('-');
    size_t d2 = d1 == std::string_view::npos ? d1 : one.find('-', d1 + 1);
    if (d2 == std::string_view::npos) return false;
    if (!all_digits(one.substr(0, d1)) || !all_digits(one.substr(d1 + 1, d2 - d1 - 1)) ||
        !all_digits(one.substr(d2 + 1)))
      return false;
    at = comma + 1;
  }
  return true;
}

bool is_mysql_gtid_set(std::string_view text) {
  // UUID (8-4-4-4-12 hex digits), then ':'.
  if (text.size() < 38) return false;
  for (size_t i = 0; i < 36; ++i) {
    char c = text[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return text[36] == ':';
}

ReplicaConnection::ReplicaConnection(const Url& url, const ReplicaOptions& options)
    : db_(connect_mysql(url, options.mysql)), options_(options), where_(url.redacted()) {
  read_settings();
}

ReplicaConnection::~ReplicaConnection() = default;

void ReplicaConnection::read_settings() {
  QueryResult r = query(db_.get(),
                        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version', 'log_bin', 'binlog_format', "
                        "'binlog_row_image', 'binlog_row_metadata', 'binlog_checksum', 'server_id', "
                        "'gtid_binlog_pos')");
  while (r.next()) {
    std::string_view name = r[0], value = r[1];
    if (name == "version") {
      settings_.version = value;
    } else if (name == "log_bin") {
      settings_.log_bin = upper(value) == "ON" || value == "1";
    } else if (name == "binlog_format") {
      settings_.binlog_format = upper(value);
    } else if (name == "binlog_row_image") {
      settings_.row_image = upper(value);
    } else if (name == "binlog_row_metadata") {
      settings_.row_metadata = upper(value);
    } else if (name == "binlog_checksum") {
      settings_.checksum = upper(value);
    } else if (name == "server_id") {
      settings_.server_id = static_cast<uint32_t>(parse_u64(value).value_or(0));
    } else if (name == "gtid_binlog_pos") {
      settings_.gtid_binlog_pos = value;
    }
  }
  settings_.mariadb = settings_.version.find("MariaDB") != std::string::npos;
}

Position binlog_end_position(MYSQL* m, const std::string& where) {
  const char* sql = "SHOW MASTER STATUS";
  if (mysql_real_query(m, sql, std::char_traits<char>::length(sql)) != 0) {
    // MySQL 8.4 removed SHOW MASTER STATUS (a syntax error there); 8.2+ has SHOW BINARY LOG STATUS.
    if (mysql_errno(m) != ER_PARSE_ERROR) throw_mysql_error(m, "SHOW MASTER STATUS on " + where);
    sql = "SHOW BINARY LOG STATUS";
    if (mysql_real_query(m, sql, std::char_traits<char>::length(sql)) != 0)
      throw_mysql_error(m, "SHOW BINARY LOG STATUS on " + where);
  }
  QueryResult r(mysql_store_result(m));
  if (!r || !r.next() || r.is_null(0) || r[0].empty())
    fail(ErrorKind::kConfig, where + ": binary logging is off (start the server with log_bin)");
  auto offset = parse_u64(r[1]);
  if (!offset) fail(ErrorKind::kProtocol, where + ": " + sql + " gave position '" + std::string(r[1]) + "'");
  return Position{std::string(r[0]), *offset};
}

std::vector<BinlogFile> ReplicaConnection::binlog_files() {
  QueryResult r = query(db_.get(), "SHOW BINARY LOGS");
  std::vector<BinlogFile> files;
  while (r.next()) files.push_back(BinlogFile{std::string(r[0]), parse_u64(r[1]).value_or(0)});
  return files;
}

void ReplicaConnection::start(const Position& from, const std::string& gtid) {
  if (started_) fail(ErrorKind::kInternal, "ReplicaConnection::start called twice");
  MYSQL* m = db_.get();
  // The checksum setting tells the server we understand checksums (without it a server whose
  // binlog has them refuses with error 1236); capability 4 asks MariaDB for its GTID events.
  std::string set =
      "SET @master_binlog_checksum = @@global.binlog_checksum, @source_binlog_checksum = @@global.binlog_checksum, "
      "@mariadb_slave_capability = 4";
  if (options_.heartbeat_ms > 0)
    set += ", @master_heartbeat_period = " + std::to_string(uint64_t{options_.heartbeat_ms} * 1000000);
  if (!gtid.empty()) {
    if (!settings_.mariadb)
      fail(ErrorKind::kUsage, "--from " + gtid +
                                  ": MySQL GTID-set starts need COM_BINLOG_DUMP_GTID, which MariaDB Connector/C "
                                  "does not send; give FILE:POS");
    if (!is_mariadb_gtid(gtid))
      fail(ErrorKind::kUsage, "--from " + gtid + ": not a MariaDB GTID position (DOMAIN-SERVER-SEQ[,...])");
    set += ", @slave_connect_state = '" + gtid + "', @slave_gtid_strict_mode = 0, @slave_gtid_ignore_duplicates = 0";
  }
  execute(m, set);

  rpl_.reset(mariadb_rpl_init(m));
  if (!rpl_) throw_mysql_error(m, "mariadb_rpl_init");
  std::string file = gtid.empty() ? from.file : std::string();
  unsigned long start = gtid.empty() ? static_cast<unsigned long>(from.offset) : 4;
  unsigned int flags = options_.stop_at_end ? MARIADB_RPL_BINLOG_DUMP_NON_BLOCK : 0;
  if (mariadb_rpl_optionsv(rpl_.get(), MARIADB_RPL_FILENAME, file.c_str(), file.size()) != 0 ||
      mariadb_rpl_optionsv(rpl_.get(), MARIADB_RPL_START, start) != 0 ||
      mariadb_rpl_optionsv(rpl_.get(), MARIADB_RPL_SERVER_ID, static_cast<unsigned int>(options_.server_id)) != 0 ||
      mariadb_rpl_optionsv(rpl_.get(), MARIADB_RPL_FLAGS, flags) != 0)
    fail(ErrorKind::kInternal, "cannot set the replication options: " + std::string(mariadb_rpl_error(rpl_.get())));
  if (mariadb_rpl_open(rpl_.get()) != 0) {
    if (mysql_errno(m) != 0) throw_mysql_error(m, "starting the binlog dump on " + where_);
    fail(ErrorKind::kUnavailable,
         "starting the binlog dump on " + where_ + ": " + std::string(mariadb_rpl_error(rpl_.get())));
  }
  started_ = true;
}

std::span<const uint8_t> ReplicaConnection::fetch() {
  if (!started_) fail(ErrorKind::kInternal, "ReplicaConnection::fetch before start");
  // A fresh event each time: the library's error paths may free an event handed to it for reuse.
  event_.reset();
  MARIADB_RPL_EVENT* ev = mariadb_rpl_fetch(rpl_.get(), nullptr);
  MYSQL* m = db_.get();
  if (ev == nullptr) {
    unsigned code = mysql_errno(m);
    if (code == 0 && mariadb_rpl_errno(rpl_.get()) == 0) {
      if (options_.stop_at_end) return {};  // the EOF packet of a non-blocking dump: caught up
      fail(ErrorKind::kUnavailable, "reading the binlog stream from " + where_ + ": the server ended the stream");
    }
    if (code == 0)
      fail(ErrorKind::kProtocol, "reading the binlog stream from " + where_ + ": " +
                                     std::string(mariadb_rpl_error(rpl_.get())) + " (replication error " +
                                     std::to_string(mariadb_rpl_errno(rpl_.get())) + ")");
    if (code == ER_MASTER_FATAL_ERROR_READING_BINLOG)
      fail(ErrorKind::kData, "the server " + where_ + " cannot send the binlog from there: " + mysql_error(m) +
                                 " (error 1236; a purged binlog or a position that is no event's start: restart "
                                 "from a snapshot, --from earliest or --from current)");
    throw_mysql_error(m, "reading the binlog stream from " + where_);
  }
  event_.reset(ev);
  // raw_data: the packet's OK byte, then the event.
  if (ev->raw_data == nullptr || ev->raw_data_size < 1 + 19)
    fail(ErrorKind::kProtocol, "reading the binlog stream from " + where_ + ": a packet too short for an event");
  return {reinterpret_cast<const uint8_t*>(ev->raw_data) + 1, static_cast<size_t>(ev->raw_data_size) - 1};
}

void ReplicaConnection::interrupt() noexcept {
  if (!db_) return;
  my_socket fd = mysql_get_socket(db_.get());
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

}  // namespace rowpipe
