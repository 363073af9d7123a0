// Framing (header, checksum), format descriptions, transaction tracking and the event decoders.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_replication_binlog_event.html
// https://mariadb.com/kb/en/replication-protocol/
//
// Every event: a 19-byte common header (timestamp 4, type 1, server_id 4, event_size 4, log_pos 4,
// flags 2; longer when the FDE says so), the type's post-header, the body, and a 4-byte CRC32 over
// all of that when the format description announces checksums.
#include "binlog/decoder.hpp"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "binlog/constants.hpp"
#include "binlog/json_diff.hpp"
#include "binlog/statement.hpp"

namespace rowpipe::binlog {
namespace {

constexpr uint16_t kEventIgnorableFlag = 0x80;  // LOG_EVENT_IGNORABLE_F
constexpr size_t kMaxEventSize = (size_t{1} << 30) + 4096;

// MariaDB GTID flags.
constexpr uint8_t kFlStandalone = 1;
constexpr uint8_t kFlGroupCommitId = 2;
constexpr uint8_t kFlPreparedXa = 64;
constexpr uint8_t kFlCompletedXa = 128;

// Query event status variables (log_event.h), the ones whose size we must know to walk the list.
enum StatusVar : uint8_t {
  kQFlags2 = 0,
  kQSqlMode = 1,
  kQCatalog = 2,
  kQAutoIncrement = 3,
  kQCharset = 4,
  kQTimeZone = 5,
  kQCatalogNz = 6,
  kQLcTimeNames = 7,
  kQCharsetDatabase = 8,
  kQTableMapForUpdate = 9,
  kQMasterDataWritten = 10,
  kQInvoker = 11,
  kQUpdatedDbNames = 12,
  kQMicroseconds = 13,
  kQExplicitDefaultsForTimestamp = 16,
  kQDdlLoggedWithXid = 17,
  kQDefaultCollationForUtf8mb4 = 18,
  kQSqlRequirePrimaryKey = 19,
  kQDefaultTableEncryption = 20,
  kQHrnow = 128,
  kQXid = 129,
  kQGtidFlags3 = 130,
};

void append_hex(std::string& out, const uint8_t* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
}

std::string uuid_text(const uint8_t* p) {
  std::string s;
  append_hex(s, p, 4);
  s += '-';
  append_hex(s, p + 4, 2);
  s += '-';
  append_hex(s, p + 6, 2);
  s += '-';
  append_hex(s, p + 8, 2);
  s += '-';
  append_hex(s, p + 10, 6);
  return s;
}

// "5.7.24-27-log" -> 50724; MariaDB's "5.5.5-10.x" prefix is not used in binlogs.
unsigned version_product(std::string_view v) {
  unsigned parts[3] = {0, 0, 0};
  size_t i = 0;
  for (int k = 0; k < 3; ++k) {
    unsigned n = 0;
    bool any = false;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') {
      n = n * 10 + static_cast<unsigned>(v[i] - '0');
      if (n > 999) n = 999;
      ++i;
      any = true;
    }
    if (!any) break;
    parts[k] = n;
    if (i < v.size() && v[i] == '.')
      ++i;
    else
      break;
  }
  return (parts[0] * 256 + parts[1]) * 256 + parts[2];
}

// XA ids as logged in XA START/COMMIT/ROLLBACK text (X'..', '..', 0x.., numbers) in one canonical
// form, so that the statements of one transaction match whatever quoting they use.
std::string canonical_xid(std::string_view text) {
  std::string out;
  size_t i = 0;
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == ',') {
      if (c == ',') out += '\x01';
      ++i;
    } else if ((c == 'X' || c == 'x') && i + 1 < text.size() && text[i + 1] == '\'') {
      i += 2;
      while (i + 1 < text.size() && text[i] != '\'') {
        int a = hexval(text[i]), b = hexval(text[i + 1]);
        if (a < 0 || b < 0) break;
        out += static_cast<char>(a * 16 + b);
        i += 2;
      }
      while (i < text.size() && text[i] != '\'') ++i;
      ++i;
    } else if (c == '0' && i + 1 < text.size() && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
      i += 2;
      while (i + 1 < text.size() && hexval(text[i]) >= 0 && hexval(text[i + 1]) >= 0) {
        out += static_cast<char>(hexval(text[i]) * 16 + hexval(text[i + 1]));
        i += 2;
      }
    } else if (c == '\'' || c == '"') {
      ++i;
      while (i < text.size() && text[i] != c) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        out += text[i++];
      }
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  // A missing bqual/formatID means '' and 1.
  size_t parts = static_cast<size_t>(std::count(out.begin(), out.end(), '\x01'));
  if (parts == 0) out += "\x01";
  if (parts <= 1)
    out +=
        "\x01"
        "1";
  return out;
}

}  // namespace

struct Decoder::ZstdState {
  ZSTD_DCtx* ctx = nullptr;
  std::vector<uint8_t> out;  // decompressed bytes not yet handed out as events
  ZstdState() : ctx(ZSTD_createDCtx()) {}
  ~ZstdState() { ZSTD_freeDCtx(ctx); }
};

Decoder::Decoder(EventSink& sink, DecoderOptions options) : sink_(sink), options_(options) {}
Decoder::~Decoder() = default;

void Decoder::set_file(std::string file) { pos_.file = std::move(file); }

void Decoder::decode_event(std::span<const uint8_t> event, uint64_t offset) {
  pos_.offset = offset;
  try {
    Reader r(event.data(), event.size(), offset);
    Header h;
    h.timestamp = r.u32("event header");
    h.type = r.u8("event header");
    h.server_id = r.u32("event header");
    h.size = r.u32("event header");
    h.log_pos = r.u32("event header");
    h.flags = r.u16("event header");
    if (h.size != event.size())
      throw_corrupt("event size " + std::to_string(h.size) + " in the header but " + std::to_string(event.size()) +
                        " bytes framed",
                    offset + 9);
    ++stats_.events;
    const uint64_t end_offset = offset + h.size;
    row_index_ = 0;
    event_server_id_ = h.server_id;

    if (h.type == kStartEventV3)
      fail(ErrorKind::kData, "binlog format v1/v3 (START_EVENT_V3, MySQL 3.23-4.x) is not supported");
    if (h.type == kFormatDescriptionEvent) {
      format_description(h, r, event);
      return;
    }
    if (!have_fde_) {
      // A replica stream starts with a fake ROTATE before the FDE; anything else is not a v4 log.
      if (h.type != kRotateEvent)
        fail(ErrorKind::kProtocol,
             std::string("no FORMAT_DESCRIPTION_EVENT before ") + std::string(event_type_name(h.type)));
    }
    size_t header_len = have_fde_ ? fde_.header_length : kHeaderLength;
    if (have_fde_ && fde_.checksum == kChecksumCrc32) {
      if (event.size() < header_len + kChecksumLength) throw_truncated("checksum", offset + event.size());
      uint32_t stored = static_cast<uint32_t>(load_le(event.data() + event.size() - 4, 4));
      uLong crc = crc32(0L, event.data(), static_cast<uInt>(event.size() - 4));
      if (stored != static_cast<uint32_t>(crc))
        fail(ErrorKind::kProtocol,
             "CRC32 mismatch (stored " + std::to_string(stored) + ", computed " + std::to_string(crc) + ")");
      r.cut_tail(kChecksumLength);
    }
    if (header_len > kHeaderLength) r.skip(header_len - kHeaderLength, "extra header");
    dispatch(h, r, end_offset);
  } catch (const Error& e) {
    std::string where =
        pos_.file.empty() ? "offset " + std::to_string(offset) : pos_.file + ":" + std::to_string(offset);
    uint8_t type = event.size() > 4 ? event[4] : 0;
    throw Error(e.kind(), where + ": " + std::string(event_type_name(type)) + ": " + e.what());
  }
}

void Decoder::format_description(const Header& h, Reader r, std::span<const uint8_t> event) {
  (void)h;
  FormatDescription f;
  f.binlog_version = r.u16("binlog version");
  if (f.binlog_version != 4)
    fail(ErrorKind::kData, "binlog format v" + std::to_string(f.binlog_version) + " is not supported (v4 only)");
  std::string_view sv = r.bytes(50, "server version");
  f.server_version.assign(sv.substr(0, std::min(sv.find('\0'), sv.size())));
  f.mariadb = f.server_version.find("MariaDB") != std::string::npos;
  r.u32("create timestamp");
  f.header_length = r.u8("header length");
  if (f.header_length < kHeaderLength) r.corrupt("common header shorter than 19 bytes");
  unsigned product = version_product(f.server_version);
  bool has_alg = f.mariadb ? product >= ((5u * 256 + 3) * 256) : product >= ((5u * 256 + 6) * 256 + 1);
  size_t rest = r.remaining();
  if (has_alg) {
    if (rest < 5) r.corrupt("format description too short for its checksum algorithm");
    f.checksum = event[event.size() - 5];
    if (f.checksum != kChecksumOff && f.checksum != kChecksumCrc32)
      throw_corrupt("unknown checksum algorithm " + std::to_string(f.checksum),
                    r.base() + event.size() - 5 - r.pos() + r.pos());
    rest -= 5;
    if (f.checksum == kChecksumCrc32) {
      // The server sets LOG_EVENT_BINLOG_IN_USE_F (flags bit 0) in the FDE of an open binlog after
      // computing its checksum, and clears it on close: the CRC is over the flag cleared.
      uint32_t stored = static_cast<uint32_t>(load_le(event.data() + event.size() - 4, 4));
      uint8_t head[kHeaderLength];
      std::memcpy(head, event.data(), kHeaderLength);
      head[17] &= static_cast<uint8_t>(~1u);
      uLong c = crc32(0L, head, kHeaderLength);
      c = crc32(c, event.data() + kHeaderLength, static_cast<uInt>(event.size() - 4 - kHeaderLength));
      auto crc = static_cast<uint32_t>(c);
      if (stored != crc) fail(ErrorKind::kProtocol, "CRC32 mismatch in the format description");
    }
  }
  std::string_view ph = r.bytes(rest, "post-header lengths");
  f.post_header.assign(ph.begin(), ph.end());
  fde_ = std::move(f);
  have_fde_ = true;
}

void Decoder::dispatch(const Header& h, Reader body, uint64_t end_offset) {
  if (h.flags & kEventIgnorableFlag && h.type > kGtidTaggedEvent && h.type < kMariaAnnotateRowsEvent) return;
  switch (h.type) {
    case kQueryEvent: query(h, body, end_offset, false); return;
    case kMariaQueryCompressedEvent: query(h, body, end_offset, true); return;
    case kXidEvent: {
      body.skip(fde_.post_header_len(kXidEvent), "XID post-header");
      uint64_t xid = body.u64("xid");
      end(h, end_offset, xid);
      return;
    }
    case kTableMapEvent: table_map(body); return;
    case kWriteRowsEventV1:
    case kUpdateRowsEventV1:
    case kDeleteRowsEventV1:
    case kWriteRowsEvent:
    case kUpdateRowsEvent:
    case kDeleteRowsEvent:
    case kPartialUpdateRowsEvent:
    case kMariaWriteRowsCompressedEventV1:
    case kMariaUpdateRowsCompressedEventV1:
    case kMariaDeleteRowsCompressedEventV1:
    case kMariaWriteRowsCompressedEvent:
    case kMariaUpdateRowsCompressedEvent:
    case kMariaDeleteRowsCompressedEvent: rows(h, body, end_offset); return;
    case kRotateEvent: {
      uint8_t ph = have_fde_ ? fde_.post_header_len(kRotateEvent) : 8;
      uint64_t position = ph >= 8 ? body.u64("rotate position") : 4;
      if (ph > 8) body.skip(ph - 8u, "rotate post-header");
      std::string_view name = body.rest();
      if (name.size() > 512) body.corrupt("rotate file name longer than 512 bytes");
      name = name.substr(0, std::min(name.find('\0'), name.size()));
      sink_.on_rotate(name, position);
      if (options_.follow_rotate) pos_.file.assign(name);
      return;
    }
    case kGtidEvent:
    case kAnonymousGtidEvent: {
      uint8_t flags = body.u8("GTID flags");
      (void)flags;
      const uint8_t* sid = body.take(16, "GTID sid");
      auto gno = static_cast<int64_t>(body.u64("GTID gno"));
      pending_gtid_.clear();
      if (h.type == kGtidEvent) {
        pending_gtid_ = uuid_text(sid);
        pending_gtid_ += ':';
        pending_gtid_ += std::to_string(gno);
      }
      return;
    }
    case kGtidTaggedEvent: {
      uint8_t version = body.u8("serialization version");
      if (version < 2) body.corrupt("unknown tagged GTID serialization version");
      uint64_t start = body.pos() - 1;
      uint64_t size = body.varlen("payload size");
      body.varlen("last non-ignorable field");
      uint64_t used = body.pos() - start;
      if (size < used || size - used > body.remaining()) body.corrupt("tagged GTID payload size out of range");
      Reader f = body.sub(size - used, "tagged GTID fields");
      uint8_t sid[16] = {};
      std::string tag;
      int64_t gno = 0;
      while (!f.empty()) {
        uint64_t id = f.varlen("field id");
        if (id == 0) {
          f.varlen("gtid flags");
        } else if (id == 1) {
          for (auto& b : sid) {
            uint64_t v = f.varlen("sid byte");
            if (v > 255) f.corrupt("sid byte out of range");
            b = static_cast<uint8_t>(v);
          }
        } else if (id == 2) {
          uint64_t z = f.varlen("gno");
          gno = (z & 1) ? -static_cast<int64_t>(z >> 1) - 1 : static_cast<int64_t>(z >> 1);
        } else if (id == 3) {
          uint64_t len = f.varlen("tag length");
          if (len > 32) f.corrupt("GTID tag longer than 32 bytes");
          tag.assign(f.bytes(len, "tag"));
        } else if (id <= 11) {
          f.varlen("field");
        } else {
          break;  // a later field we cannot size: the ones we need come first
        }
      }
      pending_gtid_ = uuid_text(sid);
      if (!tag.empty()) {
        pending_gtid_ += ':';
        pending_gtid_ += tag;
      }
      pending_gtid_ += ':';
      pending_gtid_ += std::to_string(gno);
      return;
    }
    case kMariaGtidEvent: {
      uint64_t seq = body.u64("GTID sequence");
      uint32_t domain = body.u32("GTID domain");
      uint8_t flags = body.u8("GTID flags");
      if (flags & kFlGroupCommitId) body.u64("commit id");
      std::string xa_id;
      if (flags & (kFlPreparedXa | kFlCompletedXa)) {
        uint32_t format = body.u32("XA format id");
        uint8_t g = body.u8("XA gtrid length");
        uint8_t b = body.u8("XA bqual length");
        if (g > 64 || b > 64) body.corrupt("XA id longer than 64 bytes");
        xa_id.assign(body.bytes(g, "XA gtrid"));
        xa_id += '\x01';
        xa_id += body.bytes(b, "XA bqual");
        xa_id += '\x01';
        xa_id += std::to_string(format);
      }
      std::string gtid = std::to_string(domain) + "-" + std::to_string(h.server_id) + "-" + std::to_string(seq);
      if (txn_.open && txn_.implicit) end(h, pos_.offset, std::nullopt);
      pending_gtid_ = std::move(gtid);
      if (!(flags & kFlStandalone)) begin(h, false);
      if (flags & kFlPreparedXa) {
        // MariaDB logs XA START as this GTID event: the group ends with XA_PREPARE_LOG_EVENT.
        txn_.xa = true;
        txn_.xa_id = std::move(xa_id);
        current_xa_ = HeldXa{};
        current_xa_.info = txn_.info;
      }
      return;
    }
    case kXaPrepareEvent: xa_prepare(h, body, end_offset); return;
    case kTransactionPayloadEvent: payload(h, body, end_offset); return;
    case kMariaStartEncryptionEvent:
      fail(ErrorKind::kData,
           "encrypted binlog (MariaDB encrypt_binlog) is not supported: events after START_ENCRYPTION_EVENT are "
           "encrypted");
    case kIncidentEvent: {
      uint16_t kind = body.u16("incident type");
      std::string msg = "INCIDENT event " + std::to_string(kind) + " (the source may have lost events here)";
      if (!body.empty()) {
        uint8_t len = body.u8("incident message length");
        msg += ": ";
        append_utf8_sanitized(msg, body.bytes(std::min<size_t>(len, body.remaining()), "incident message"));
      }
      sink_.on_warning(pos_, msg);
      return;
    }
    case kPreGaWriteRowsEvent:
    case kPreGaUpdateRowsEvent:
    case kPreGaDeleteRowsEvent:
      fail(ErrorKind::kData, "pre-GA rows events (MySQL 5.1 before 5.1.18, types 20-22) are not supported");
    case kLoadEvent:
    case kNewLoadEvent:
    case kExecLoadEvent:
    case kExecuteLoadQueryEvent: statement_dml("LOAD DATA"); return;
    default:
      // STOP, INTVAR, RAND, USER_VAR, heartbeats, ignorable and informational events (previous
      // GTIDs, GTID list, binlog checkpoint, annotate rows, rows query, LOAD data blocks), and
      // types this decoder does not know: all skipped by their length.
      return;
  }
}

void Decoder::query(const Header& h, Reader r, uint64_t end_offset, bool compressed) {
  uint8_t ph = fde_.post_header_len(h.type);
  if (ph < 11) ph = 13;
  r.u32("thread id");
  r.u32("exec time");
  uint8_t db_len = r.u8("database length");
  r.u16("error code");
  uint16_t status_len = ph >= 13 ? r.u16("status variables length") : 0;
  if (ph > 13) r.skip(ph - 13u, "query post-header");
  Reader st = r.sub(status_len, "status variables");
  uint32_t client_collation = 33;  // utf8mb3_general_ci
  while (!st.empty()) {
    uint8_t code = st.u8("status variable");
    bool known = true;
    switch (code) {
      case kQFlags2: st.skip(4); break;
      case kQSqlMode: st.skip(8); break;
      case kQCatalog: st.skip(size_t{st.u8()} + 1); break;
      case kQAutoIncrement: st.skip(4); break;
      case kQCharset:
        client_collation = st.u16();
        st.skip(4);
        break;
      case kQTimeZone:
      case kQCatalogNz: st.skip(st.u8()); break;
      case kQLcTimeNames:
      case kQCharsetDatabase: st.skip(2); break;
      case kQTableMapForUpdate: st.skip(8); break;
      case kQMasterDataWritten: st.skip(4); break;
      case kQInvoker:
        st.skip(st.u8());
        st.skip(st.u8());
        break;
      case kQUpdatedDbNames: {
        uint8_t count = st.u8();
        if (count != 254)
          for (uint8_t i = 0; i < count; ++i)
            while (st.u8("database name") != 0) {
            }
        break;
      }
      case kQMicroseconds:
      case kQHrnow: st.skip(3); break;
      case kQExplicitDefaultsForTimestamp:
      case kQSqlRequirePrimaryKey:
      case kQDefaultTableEncryption:
      case kQGtidFlags3: st.skip(1); break;
      case kQDdlLoggedWithXid:
      case kQXid: st.skip(8); break;
      case kQDefaultCollationForUtf8mb4: st.skip(2); break;
      default: known = false; break;
    }
    if (!known) break;  // sizes of later codes are unknown; the db and query stand apart anyway
  }
  std::string_view db = r.bytes(db_len, "database name");
  r.skip(1, "database name terminator");
  std::string inflated;
  if (compressed) inflated = uncompress_mariadb(r);
  std::string_view raw = compressed ? std::string_view(inflated) : r.rest();
  std::string sql;
  Charset cs = charset_of_collation(client_collation);
  if (cs == Charset::kUnknown || cs == Charset::kBinary) cs = Charset::kUtf8mb4;
  TextConverter conv;
  conv.to_utf8(sql, raw, cs);

  std::string xa_id;
  switch (classify_statement(sql, &xa_id)) {
    case StatementKind::kBegin:
      if (!txn_.open || txn_.rows == 0) {
        if (!txn_.open) begin(h, false);
      }
      return;
    case StatementKind::kCommit:
    case StatementKind::kRollback:
      // A ROLLBACK in the log ends a transaction whose non-transactional changes stay applied:
      // its rows are real and were delivered.
      if (txn_.xa) {
        // XA START ... ROLLBACK without PREPARE: nothing of it happened.
        txn_.xa = false;
        current_xa_.rows.clear();
        held_bytes_ -= current_xa_.bytes;
        current_xa_.bytes = 0;
      }
      end(h, end_offset, std::nullopt);
      return;
    case StatementKind::kSavepoint:
    case StatementKind::kXaEnd:
    case StatementKind::kXaPrepare: return;
    case StatementKind::kXaStart:
      if (!txn_.open) begin(h, false);
      txn_.xa = true;
      txn_.xa_id = canonical_xid(xa_id);
      current_xa_ = HeldXa{};
      current_xa_.info = txn_.info;
      return;
    case StatementKind::kXaCommit:
    case StatementKind::kXaRollback:
      if (!txn_.open) begin(h, false);
      release_xa(canonical_xid(xa_id), h, end_offset, classify_statement(sql) == StatementKind::kXaCommit);
      return;
    case StatementKind::kDml: statement_dml(sql.substr(0, 80)); return;
    case StatementKind::kDdl: {
      if (sql.empty()) return;
      Ddl d;
      d.sql = sql;
      std::string dbs;
      append_utf8_sanitized(dbs, db);
      d.db = dbs;
      d.tables = ddl_tables(sql, dbs);
      d.position = pos_;
      d.next = Position{pos_.file, end_offset};
      d.timestamp = h.timestamp;
      TransactionInfo info;
      bool inside = txn_.open && !txn_.implicit;
      if (inside) {
        info = txn_.info;
      } else {
        if (txn_.open) end(h, pos_.offset, std::nullopt);
        info.gtid = std::move(pending_gtid_);
        info.server_id = h.server_id;
        pending_gtid_.clear();
      }
      d.transaction = &info;
      d.ends_transaction = !inside;
      sink_.on_ddl(d);
      if (!inside) ++stats_.transactions;
      return;
    }
  }
}

void Decoder::statement_dml(std::string_view what) {
  std::string msg = "statement-based DML cannot be decoded into rows (binlog_format=STATEMENT or MIXED): ";
  msg += what;
  if (!options_.allow_statements) fail(ErrorKind::kData, msg);
  ++stats_.statements_skipped;
  sink_.on_warning(pos_, msg + " (skipped)");
}

void Decoder::table_map(Reader body) {
  uint8_t ph = fde_.post_header_len(kTableMapEvent);
  std::string_view raw(reinterpret_cast<const char*>(body.cursor()), body.remaining());
  uint64_t id = table_map_id(raw, body.offset(), ph);
  auto it = maps_.find(id);
  if (it != maps_.end() && it->second.raw == raw) return;  // the same table map as last time
  auto map = parse_table_map(raw, body.offset(), ph, fde_.mariadb, options_.schema);
  if (maps_.size() >= 4096 && it == maps_.end()) maps_.clear();  // ids of reopened tables pile up
  auto& slot = maps_[id];
  slot.raw.assign(raw);
  slot.map = std::move(map);
}

void Decoder::begin(const Header& h, bool implicit) {
  txn_ = Txn{};
  txn_.open = true;
  txn_.implicit = implicit;
  txn_.info.gtid = std::move(pending_gtid_);
  txn_.info.server_id = h.server_id;
  pending_gtid_.clear();
}

void Decoder::end(const Header& h, uint64_t end_offset, std::optional<uint64_t> xid) {
  if (txn_.xa) {
    // XA END + XA PREPARE are the normal way out; reaching a commit here means one-phase XA.
    for (auto& held : current_xa_.rows) {
      RowChange rc;
      rc.kind = held.kind;
      rc.table = held.table.get();
      rc.position = &pos_;
      rc.row = row_index_++;
      rc.timestamp = held.timestamp;
      rc.transaction = &txn_.info;
      rc.before = held.before.get();
      rc.after = held.after.get();
      rc.json_diff = held.json_diff;
      sink_.on_row(rc);
      ++txn_.rows;
      ++stats_.rows;
    }
    held_bytes_ -= current_xa_.bytes;
    current_xa_ = HeldXa{};
  }
  TransactionEnd e;
  e.next = Position{pos_.file, end_offset};
  e.xid = xid;
  e.rows = txn_.rows;
  e.timestamp = h.timestamp;
  if (!txn_.open) {
    txn_.info.gtid = std::move(pending_gtid_);
    txn_.info.server_id = h.server_id;
    pending_gtid_.clear();
  }
  e.transaction = &txn_.info;
  sink_.on_transaction_end(e);
  ++stats_.transactions;
  txn_ = Txn{};
}

void Decoder::deliver(RowChange& rc) {
  if (txn_.xa) {
    hold(rc);
    return;
  }
  sink_.on_row(rc);
  ++txn_.rows;
  ++stats_.rows;
}

void Decoder::hold(const RowChange& rc) {
  HeldRow held;
  held.kind = rc.kind;
  auto it = maps_.find(rc.table->table_id);
  held.table = it != maps_.end() ? it->second.map : nullptr;
  held.timestamp = rc.timestamp;
  held.json_diff = rc.json_diff;
  size_t bytes = sizeof(HeldRow);
  if (rc.before) {
    held.before = std::make_unique<Image>(*rc.before);
    bytes += rc.before->text.size() + rc.before->cells.size() * sizeof(Cell);
  }
  if (rc.after) {
    held.after = std::make_unique<Image>(*rc.after);
    bytes += rc.after->text.size() + rc.after->cells.size() * sizeof(Cell);
  }
  held_bytes_ += bytes;
  current_xa_.bytes += bytes;
  if (held_bytes_ > options_.max_xa_bytes)
    fail(ErrorKind::kData, "XA transactions hold more than " + std::to_string(options_.max_xa_bytes) +
                               " bytes of rows until their XA COMMIT (raise the limit)");
  current_xa_.rows.push_back(std::move(held));
}

void Decoder::xa_prepare(const Header& h, Reader body, uint64_t end_offset) {
  uint8_t one_phase = body.u8("one phase");
  body.u32("XA format id");
  uint32_t g = body.u32("XA gtrid length");
  uint32_t b = body.u32("XA bqual length");
  if (g > 64 || b > 64) body.corrupt("XA id longer than 64 bytes");
  body.skip(size_t{g} + b, "XA id");
  if (!txn_.open) return;
  if (one_phase || !txn_.xa) {
    end(h, end_offset, std::nullopt);
    return;
  }
  // Prepared: the rows wait for XA COMMIT (or vanish with XA ROLLBACK).
  HeldXa& slot = prepared_[txn_.xa_id];
  held_bytes_ -= slot.bytes;
  slot = std::move(current_xa_);
  current_xa_ = HeldXa{};
  txn_.xa = false;
  txn_.rows = 0;
  end(h, end_offset, std::nullopt);
}

void Decoder::release_xa(const std::string& id, const Header& h, uint64_t end_offset, bool commit) {
  auto it = prepared_.find(id);
  if (it == prepared_.end()) {
    if (commit)
      sink_.on_warning(pos_,
                       "XA COMMIT of a transaction prepared before the decoded range: its rows are not in this output");
    end(h, end_offset, std::nullopt);
    return;
  }
  HeldXa held = std::move(it->second);
  prepared_.erase(it);
  held_bytes_ -= held.bytes;
  if (commit) {
    if (txn_.info.gtid.empty()) txn_.info.gtid = held.info.gtid;
    for (auto& r : held.rows) {
      RowChange rc;
      rc.kind = r.kind;
      rc.table = r.table.get();
      rc.position = &pos_;  // rows of an XA transaction take the position of its XA COMMIT
      rc.row = row_index_++;
      rc.timestamp = r.timestamp;
      rc.transaction = &txn_.info;
      rc.before = r.before.get();
      rc.after = r.after.get();
      rc.json_diff = r.json_diff;
      sink_.on_row(rc);
      ++txn_.rows;
      ++stats_.rows;
    }
  }
  end(h, end_offset, std::nullopt);
}

std::string Decoder::uncompress_mariadb(Reader& r) {
  // MariaDB compressed events: a header byte (0x80 | algorithm << 4 | length bytes), the
  // uncompressed length big-endian in 1-4 bytes, then zlib data (log_event.cc binlog_buf_uncompress).
  uint8_t head = r.u8("compression header");
  if ((head & 0x80) == 0 || ((head & 0x70) >> 4) != 0) r.corrupt("unknown compression header");
  unsigned lenlen = head & 0x07;
  if (lenlen < 1 || lenlen > 4) r.corrupt("compressed length size out of range");
  uint64_t len = r.uint_be(lenlen, "uncompressed length");
  if (len > options_.max_event_bytes) r.corrupt("uncompressed size above the event size limit");
  std::string_view src = r.rest();
  // zlib cannot expand more than about 1032:1; a larger claim is corrupt (and must not allocate).
  if (len > src.size() * 1032 + 64) r.corrupt("uncompressed length beyond what the compressed data can hold");
  std::string out(len, '\0');
  uLongf dlen = static_cast<uLongf>(len);
  int rc = uncompress(reinterpret_cast<Bytef*>(out.data()), &dlen, reinterpret_cast<const Bytef*>(src.data()),
                      static_cast<uLong>(src.size()));
  if (rc != Z_OK || dlen != len) r.corrupt("zlib data does not inflate to the announced length");
  return out;
}

void Decoder::rows(const Header& h, Reader r, uint64_t end_offset) {
  RowKind kind;
  bool v2 = false, compressed = false;
  switch (h.type) {
    case kWriteRowsEventV1:
    case kPreGaWriteRowsEvent: kind = RowKind::kInsert; break;
    case kUpdateRowsEventV1:
    case kPreGaUpdateRowsEvent: kind = RowKind::kUpdate; break;
    case kDeleteRowsEventV1:
    case kPreGaDeleteRowsEvent: kind = RowKind::kDelete; break;
    case kWriteRowsEvent:
      kind = RowKind::kInsert;
      v2 = true;
      break;
    case kUpdateRowsEvent:
    case kPartialUpdateRowsEvent:
      kind = RowKind::kUpdate;
      v2 = true;
      break;
    case kDeleteRowsEvent:
      kind = RowKind::kDelete;
      v2 = true;
      break;
    case kMariaWriteRowsCompressedEventV1:
      kind = RowKind::kInsert;
      compressed = true;
      break;
    case kMariaUpdateRowsCompressedEventV1:
      kind = RowKind::kUpdate;
      compressed = true;
      break;
    case kMariaDeleteRowsCompressedEventV1:
      kind = RowKind::kDelete;
      compressed = true;
      break;
    case kMariaWriteRowsCompressedEvent:
      kind = RowKind::kInsert;
      v2 = compressed = true;
      break;
    case kMariaUpdateRowsCompressedEvent:
      kind = RowKind::kUpdate;
      v2 = compressed = true;
      break;
    default:
      kind = RowKind::kDelete;
      v2 = compressed = true;
      break;
  }
  const bool partial_event = h.type == kPartialUpdateRowsEvent;
  uint8_t ph = fde_.post_header_len(h.type);
  uint64_t table_id = ph == 6 ? r.u32("table id") : r.u48("table id");
  uint16_t flags = r.u16("rows flags");
  size_t used = ph == 6 ? 6 : 8;
  if (v2) {
    uint16_t extra = r.u16("extra row info length");
    used += 2;
    if (extra < 2) r.corrupt("extra row info length below 2");
    std::string_view info = r.bytes(extra - 2u, "extra row info");
    // Known tags: 0 NDB info, 1 partition info (MySQL); anything else is not a rows event we know.
    if (!info.empty() && static_cast<uint8_t>(info[0]) > 1) r.corrupt("unknown extra row info tag");
  }
  if (ph > used) r.skip(ph - used, "rows post-header");

  Reader body = r;
  uint64_t n = body.packed("column count");
  auto it = maps_.find(table_id);
  if (it == maps_.end()) {
    // MySQL ends some statements with an empty rows event for a dummy table id.
    if (body.remaining() <= (n + 7) / 8 * 2 && (table_id == 0xffffff || table_id == 0xffffffffffffULL)) {
      if ((flags & kRowsStmtEndFlag) && txn_.open && txn_.implicit) end(h, end_offset, std::nullopt);
      return;
    }
    fail(ErrorKind::kProtocol,
         "rows event for table id " + std::to_string(table_id) + " without a TABLE_MAP_EVENT before it");
  }
  const TableMap& t = *it->second.map;
  if (n != t.columns.size())
    fail(ErrorKind::kProtocol, "rows event has " + std::to_string(n) + " columns but the table map of `" + t.db +
                                   "`.`" + t.table + "` has " + std::to_string(t.columns.size()));
  const size_t bitmap = (n + 7) / 8;
  const uint8_t* present1 = body.take(bitmap, "columns bitmap");
  const uint8_t* present2 = kind == RowKind::kUpdate ? body.take(bitmap, "after-image columns bitmap") : nullptr;
  // MariaDB compresses the rows after the column count and bitmaps.
  std::string inflated;
  if (compressed) {
    inflated = uncompress_mariadb(body);
    body = Reader(inflated, pos_.offset);
  }

  if (!txn_.open) begin(h, true);
  while (!body.empty()) {
    RowChange rc;
    rc.kind = kind;
    rc.table = &t;
    rc.position = &pos_;
    rc.timestamp = h.timestamp;
    rc.transaction = &txn_.info;
    switch (kind) {
      case RowKind::kInsert:
        row_decoder_.decode(body, t, present1, after_, nullptr);
        rc.after = &after_;
        break;
      case RowKind::kDelete:
        row_decoder_.decode(body, t, present1, before_, nullptr);
        rc.before = &before_;
        break;
      case RowKind::kUpdate: {
        row_decoder_.decode(body, t, present1, before_, nullptr);
        const uint8_t* partial_bits = nullptr;
        if (partial_event) {
          uint64_t options = body.packed("value options");
          if (options & 1) partial_bits = body.take((t.json_columns + 7) / 8, "partial JSON bitmap");
        }
        row_decoder_.decode(body, t, present2, after_, partial_bits);
        if (partial_bits) {
          // Apply each JSON diff to the before image's document; keep the diff where that fails.
          for (size_t i = 0; i < after_.cells.size(); ++i) {
            Cell& c = after_.cells[i];
            if (c.kind != CellKind::kJsonDiff) continue;
            const Cell& b = before_.cells[i];
            if (b.kind == CellKind::kJson && apply_json_diff(before_.json(b), after_.json(c), scratch_)) {
              c.kind = CellKind::kJson;
              c.begin = static_cast<uint32_t>(after_.text.size());
              c.size = static_cast<uint32_t>(scratch_.size());
              after_.text += scratch_;
            } else {
              rc.json_diff = true;
            }
          }
        }
        rc.before = &before_;
        rc.after = &after_;
        break;
      }
    }
    rc.row = row_index_++;
    deliver(rc);
  }
  if (uint64_t bad = row_decoder_.take_invalid_text()) {
    stats_.invalid_text_values += bad;
    sink_.on_warning(pos_, std::to_string(bad) + " text value(s) of `" + t.db + "`.`" + t.table +
                               "` had bytes invalid in their character set (replaced by U+FFFD)");
  }
  if ((flags & kRowsStmtEndFlag) && txn_.open && txn_.implicit) end(h, end_offset, std::nullopt);
}

void Decoder::payload(const Header& h, Reader r, uint64_t end_offset) {
  (void)h;
  // TRANSACTION_PAYLOAD_EVENT: fields (type, length, value as packed integers) up to type 0, then
  // the compressed events (each a complete event without checksum).
  uint64_t size = 0, algorithm = 0;
  bool have_size = false;
  while (true) {
    uint64_t type = r.packed("payload field type");
    if (type == 0) break;
    uint64_t len = r.packed("payload field length");
    if (len > r.remaining()) r.corrupt("payload field longer than the event");
    Reader f = r.sub(len, "payload field");
    if (type == 1) {
      size = f.packed("payload size");
      have_size = true;
    } else if (type == 2) {
      algorithm = f.packed("compression type");
    }
  }
  if (!have_size || size != r.remaining()) r.corrupt("payload size does not match the event");
  std::string_view data = r.rest();
  in_payload_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{in_payload_};

  if (algorithm == 255) {  // NONE
    Reader inner(data, pos_.offset);
    while (!inner.empty()) {
      inner.need(kHeaderLength, "inner event header");
      uint32_t esize = static_cast<uint32_t>(load_le(inner.cursor() + 9, 4));
      if (esize < kHeaderLength) inner.corrupt("inner event smaller than its header");
      const uint8_t* p = inner.take(esize, "inner event");
      inner_event({p, esize}, end_offset);
    }
    return;
  }
  if (algorithm != 0) r.corrupt("unknown payload compression type " + std::to_string(algorithm));
  if (!zstd_) zstd_ = std::make_unique<ZstdState>();
  ZstdState& z = *zstd_;
  ZSTD_DCtx_reset(z.ctx, ZSTD_reset_session_only);
  z.out.clear();
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  size_t start = 0;  // first byte of z.out not yet handed out
  uint8_t chunk[1 << 16];
  bool done = false;
  while (!done) {
    ZSTD_outBuffer out{chunk, sizeof chunk, 0};
    size_t ret = ZSTD_decompressStream(z.ctx, &out, &in);
    if (ZSTD_isError(ret)) r.corrupt(std::string("zstd: ") + ZSTD_getErrorName(ret));
    z.out.insert(z.out.end(), chunk, chunk + out.pos);
    done = ret == 0 || (in.pos == in.size && out.pos < out.size);
    // Hand out every complete inner event; keep at most one partial event plus one chunk.
    while (z.out.size() - start >= kHeaderLength) {
      uint32_t esize = static_cast<uint32_t>(load_le(z.out.data() + start + 9, 4));
      if (esize < kHeaderLength || esize > options_.max_event_bytes) r.corrupt("inner event size out of range");
      if (z.out.size() - start < esize) break;
      inner_event({z.out.data() + start, esize}, end_offset);
      start += esize;
    }
    if (start > 0 && start >= z.out.size() / 2) {
      z.out.erase(z.out.begin(), z.out.begin() + static_cast<std::ptrdiff_t>(start));
      start = 0;
    }
  }
  if (start != z.out.size()) r.corrupt("compressed payload ends inside an event");
  if (z.out.capacity() > (size_t{8} << 20)) std::vector<uint8_t>().swap(z.out);
}

void Decoder::inner_event(std::span<const uint8_t> event, uint64_t end_offset) {
  Reader r(event.data(), event.size(), pos_.offset);
  Header h;
  h.timestamp = r.u32("inner event header");
  h.type = r.u8("inner event header");
  h.server_id = r.u32("inner event header");
  h.size = r.u32("inner event header");
  h.log_pos = r.u32("inner event header");
  h.flags = r.u16("inner event header");
  if (h.type == kTransactionPayloadEvent || h.type == kFormatDescriptionEvent || h.type == kRotateEvent)
    r.corrupt("event type not allowed inside a transaction payload");
  if (fde_.header_length > kHeaderLength) r.skip(fde_.header_length - kHeaderLength, "extra header");
  dispatch(h, r, end_offset);
}

void Decoder::finish() {
  if (txn_.open && (txn_.rows > 0 || txn_.xa)) {
    sink_.on_warning(pos_, "input ends inside a transaction: its rows so far were delivered without a commit");
  }
  if (!prepared_.empty()) {
    sink_.on_warning(pos_,
                     std::to_string(prepared_.size()) +
                         " XA transaction(s) prepared but not committed in the input: their rows were not emitted");
  }
}

// --- FileFramer ---

std::string FileFramer::where(uint64_t offset) const {
  return file_.empty() ? "offset " + std::to_string(offset) : file_ + ":" + std::to_string(offset);
}

uint8_t* FileFramer::room(size_t size) {
  // The unconsumed bytes (at most one partial event) move to the front; buf_ only grows, so its
  // zero-fill happens once per growth, not per read.
  if (start_ > 0) {
    std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  if (buf_.size() - end_ < size) buf_.resize(std::max(end_ + size, buf_.size() * 2));
  return buf_.data() + end_;
}

void FileFramer::push(const uint8_t* data, size_t size) {
  if (size == 0) return;
  std::memcpy(room(size), data, size);
  end_ += size;
}

bool FileFramer::next(std::span<const uint8_t>& event, uint64_t& offset) {
  size_t avail = end_ - start_;
  if (!magic_checked_) {
    if (avail < 4) return false;
    if (load_le(buf_.data() + start_, 4) != kBinlogMagic)
      fail(ErrorKind::kData,
           where(0) + ": not a binary log (the file does not start with the magic bytes fe 62 69 6e)");
    start_ += 4;
    consumed_ += 4;
    avail -= 4;
    magic_checked_ = true;
  }
  if (avail < kHeaderLength) return false;
  uint32_t size = static_cast<uint32_t>(load_le(buf_.data() + start_ + 9, 4));
  if (size < kHeaderLength || size > kMaxEventSize)
    fail(ErrorKind::kProtocol,
         where(consumed_) + ": event size " + std::to_string(size) + " out of range (corrupt file?)");
  if (avail < size) return false;
  event = {buf_.data() + start_, size};
  offset = consumed_;
  start_ += size;
  consumed_ += size;
  return true;
}

void FileFramer::finish() const {
  size_t avail = end_ - start_;
  if (!magic_checked_) {
    fail(ErrorKind::kData, where(0) + ": not a binary log (shorter than the 4 magic bytes)");
  }
  if (avail > 0)
    fail(ErrorKind::kProtocol, where(consumed_) + ": the file ends inside an event (" + std::to_string(avail) +
                                   " bytes of it present): truncated binlog");
}

}  // namespace rowpipe::binlog
