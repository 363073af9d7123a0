// A replica connection to a MySQL/MariaDB primary through Connector/C's binlog API (mariadb_rpl.h):
// server settings, checksum and heartbeat negotiation, a binlog dump from FILE:POS or a MariaDB GTID
// position, and the raw events as the server sends them. Transport only: decoding is binlog::Decoder's,
// position tracking binlog::StreamPosition's.
#pragma once

#include <mysql.h>

#include <mariadb_rpl.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "clients/handle.hpp"
#include "clients/mysql.hpp"
#include "event/position.hpp"

namespace rowpipe {

using MariadbRpl = Handle<MARIADB_RPL, mariadb_rpl_close>;
using MariadbRplEvent = Handle<MARIADB_RPL_EVENT, mariadb_free_rpl_event>;

// What the server says about its binary log (SHOW GLOBAL VARIABLES). Empty strings: the server has
// no such variable (binlog_row_metadata before MySQL 8.0.14 / MariaDB 10.5).
struct ServerSettings {
  std::string version;  // @@version
  bool mariadb = false;
  bool log_bin = false;
  std::string binlog_format;  // ROW, STATEMENT, MIXED (upper case)
  std::string row_image;      // FULL, MINIMAL, NOBLOB
  std::string row_metadata;   // FULL, MINIMAL, NO_LOG
  std::string checksum;       // NONE, CRC32
  uint32_t server_id = 0;
  std::string gtid_binlog_pos;  // MariaDB: the GTID position of the binlog's end

  bool crc32() const { return checksum == "CRC32"; }
};

struct ReplicaOptions {
  MysqlOptions mysql;            // password, TLS, timeouts (read_timeout bounds a dead connection)
  uint32_t server_id = 0;        // the id this replica announces (must differ from every other replica)
  uint32_t heartbeat_ms = 1000;  // the server sends a heartbeat event when idle this long; 0: none
  bool stop_at_end = false;      // non-blocking dump: the stream ends when caught up
};

// The binlog files the server has (SHOW BINARY LOGS), oldest first.
struct BinlogFile {
  std::string name;
  uint64_t size = 0;
};

// The end of the server's binary log on `m`: SHOW MASTER STATUS (SHOW BINARY LOG STATUS where the
// former is gone, MySQL 8.4+). Throws Error(kConfig) when binary logging is off, naming `where`.
Position binlog_end_position(MYSQL* m, const std::string& where);

class ReplicaConnection {
 public:
  // Connects and reads the server's settings. Throws Error as connect_mysql does.
  ReplicaConnection(const Url& url, const ReplicaOptions& options);
  ~ReplicaConnection();
  ReplicaConnection(const ReplicaConnection&) = delete;
  ReplicaConnection& operator=(const ReplicaConnection&) = delete;

  const ServerSettings& settings() const { return settings_; }
  // For queries before start() (the connection streams afterwards).
  MYSQL* sql() const { return db_.get(); }

  // The end of the server's binary log (binlog_end_position).
  Position current_position() { return binlog_end_position(db_.get(), where_); }
  // SHOW BINARY LOGS.
  std::vector<BinlogFile> binlog_files();

  // Starts the dump at `from` (a transaction boundary), or, with `gtid` set (MariaDB
  // DOMAIN-SERVER-SEQ[,...]), after those transactions (`from` is then ignored). Throws Error:
  // kUnavailable when the connection fails, kUsage for a MySQL GTID set (Connector/C cannot send
  // COM_BINLOG_DUMP_GTID).
  void start(const Position& from, const std::string& gtid = {});

  // The next event, exactly as the server sent it (common header, body, checksum when negotiated);
  // valid until the next fetch(). An empty span: caught up (stop_at_end only). Throws Error:
  // kUnavailable when the connection is lost, times out or the server ends the stream; kData when the
  // server cannot send the binlog from the requested place (error 1236: purged, beyond the end, a
  // GTID it does not have); kProtocol for a malformed packet.
  std::span<const uint8_t> fetch();

  // Makes a fetch() blocked in another thread return (with an Error): shuts the socket down. The
  // connection is unusable afterwards. Safe to call from any thread, at most while this object lives.
  void interrupt() noexcept;

  const std::string& where() const { return where_; }  // the redacted URL, for messages

 private:
  void read_settings();

  Mysql db_;
  MariadbRpl rpl_;
  MariadbRplEvent event_;
  ReplicaOptions options_;
  ServerSettings settings_;
  std::string where_;
  bool started_ = false;
};

// A random server id in the range binlog-tail documents (2147483648 to 4294967295, the upper half
// of the 32-bit range: real servers are usually numbered from 1).
uint32_t random_server_id();

// True for a MariaDB GTID position: DOMAIN-SERVER-SEQ[,DOMAIN-SERVER-SEQ...] (empty: false).
bool is_mariadb_gtid(std::string_view text);
// True for something shaped like a MySQL GTID set (UUID:N[-M][:...][,...]).
bool is_mysql_gtid_set(std::string_view text);

}  // namespace rowpipe
