// Unit tests of the binlog decoder: column values from hand-checked byte vectors, table maps,
// statements, charsets, line rendering, and truncated prefixes of every corpus event.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "binlog/charset.hpp"
#include "binlog/constants.hpp"
#include "binlog/decoder.hpp"
#include "binlog/json_binary.hpp"
#include "binlog/line_emitter.hpp"
#include "binlog/rows.hpp"
#include "binlog/statement.hpp"
#include "binlog/table_map.hpp"
#include "binlog/text_buffer.hpp"
#include "cli/error.hpp"
#include "event/values.hpp"

using namespace rowpipe;
using namespace rowpipe::binlog;

namespace {

ColumnInfo col(uint8_t type) {
  ColumnInfo c;
  c.type = type;
  c.name = "c";
  return c;
}

// Decodes one value of `c` from `bytes`; checks every byte was used; returns its JSON text.
std::string value_of(const ColumnInfo& c, std::vector<uint8_t> bytes, CellKind* kind = nullptr) {
  RowDecoder d;
  Image img;
  img.reset(1);
  Reader r(bytes.data(), bytes.size(), 0);
  d.value(r, c, img, img.cells[0]);
  CHECK(r.empty());
  if (kind) *kind = img.cells[0].kind;
  return std::string(img.json(img.cells[0]));
}

std::vector<uint8_t> le(uint64_t v, int n) {
  std::vector<uint8_t> out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return out;
}

class NullSink : public EventSink {
 public:
  void on_row(const RowChange&) override { ++rows; }
  void on_transaction_end(const TransactionEnd&) override {}
  void on_ddl(const Ddl&) override {}
  uint64_t rows = 0;
};

std::vector<uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("integers decode at their minimum and maximum, signed and unsigned", "[binlog]") {
  ColumnInfo c = col(kTypeTiny);
  CHECK(value_of(c, {0x80}) == "-128");
  CHECK(value_of(c, {0x7f}) == "127");
  c.is_unsigned = true;
  CHECK(value_of(c, {0xff}) == "255");
  c = col(kTypeShort);
  CHECK(value_of(c, {0x00, 0x80}) == "-32768");
  c = col(kTypeInt24);
  CHECK(value_of(c, {0x00, 0x00, 0x80}) == "-8388608");
  c.is_unsigned = true;
  CHECK(value_of(c, {0xff, 0xff, 0xff}) == "16777215");
  c = col(kTypeLong);
  CHECK(value_of(c, le(0x80000000u, 4)) == "-2147483648");
  c.is_unsigned = true;
  CHECK(value_of(c, le(0xffffffffu, 4)) == "4294967295");
  c = col(kTypeLonglong);
  CHECK(value_of(c, le(0x8000000000000000ull, 8)) == "-9223372036854775808");
  CHECK(value_of(c, le(0x7fffffffffffffffull, 8)) == "9223372036854775807");
  c.is_unsigned = true;
  CHECK(value_of(c, le(0xffffffffffffffffull, 8)) == "18446744073709551615");
}

TEST_CASE("FLOAT and DOUBLE render the shortest round-tripping decimal", "[binlog]") {
  CHECK(value_of(col(kTypeFloat), {0xcd, 0xcc, 0x8c, 0x3f}) == "1.1");
  double d = 0.1;
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  CHECK(value_of(col(kTypeDouble), le(bits, 8)) == "0.1");
}

TEST_CASE("DECIMAL keeps its declared scale, up to (65,30)", "[binlog]") {
  ColumnInfo c = col(kTypeNewdecimal);
  c.precision = 65;
  c.scale = 30;
  CHECK(value_of(c, {0x7f, 0x43, 0x9e, 0xb1, 0xca, 0x48, 0x40, 0x78, 0xca, 0xf1, 0xcb, 0x3f, 0xd0, 0xf8, 0xa0,
                     0x86, 0xf8, 0xa4, 0x32, 0xea, 0xff, 0x43, 0x9e, 0xb1, 0xca, 0x48, 0x40, 0x78, 0xfc, 0x85}) ==
        "\"-12345678901234567890123456789012345.123456789012345678901234567890\"");
  CHECK(value_of(c, {0x85, 0xf5, 0xe0, 0xff, 0x3b, 0x9a, 0xc9, 0xff, 0x3b, 0x9a, 0xc9, 0xff, 0x3b, 0x9a, 0xc9,
                     0xff, 0x3b, 0x9a, 0xc9, 0xff, 0x3b, 0x9a, 0xc9, 0xff, 0x3b, 0x9a, 0xc9, 0xff, 0x03, 0xe7}) ==
        "\"99999999999999999999999999999999999.999999999999999999999999999999\"");
  c.precision = 10;
  c.scale = 2;
  CHECK(value_of(c, {0x7f, 0xff, 0xfb, 0x2d, 0xcd}) == "\"-1234.50\"");
  CHECK(value_of(c, {0x80, 0x00, 0x00, 0x00, 0x00}) == "\"0.00\"");
}

TEST_CASE("TIME2 renders negative times beyond 24 hours and fractions", "[binlog]") {
  ColumnInfo c = col(kTypeTime2);
  CHECK(value_of(c, {0x60, 0x43, 0xe5}) == "\"-507:48:27\"");
  c.scale = 3;
  CHECK(value_of(c, {0x7f, 0xff, 0xfe, 0xec, 0x78}) == "\"-00:00:01.500\"");
  c.scale = 0;
  CHECK(value_of(c, {0x80, 0x00, 0x00}) == "\"00:00:00\"");
  // 838:59:59, the maximum.
  uint32_t hms = (838u << 12) | (59u << 6) | 59u;
  uint32_t v = 0x800000 + hms;
  CHECK(value_of(c, {static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}) ==
        "\"838:59:59\"");
}

TEST_CASE("old TIME, DATE and DATETIME formats decode, zero dates kept", "[binlog]") {
  CHECK(value_of(col(kTypeTime), le(static_cast<uint32_t>(-1234556) & 0xffffff, 3)) == "\"-123:45:56\"");
  CHECK(value_of(col(kTypeDate), {0, 0, 0}) == "\"0000-00-00\"");
  CHECK(value_of(col(kTypeDate), le((2024u << 9) | (2u << 5) | 29u, 3)) == "\"2024-02-29\"");
  CHECK(value_of(col(kTypeDatetime), le(20240229235959ull, 8)) == "\"2024-02-29 23:59:59\"");
  CHECK(value_of(col(kTypeDatetime), le(0, 8)) == "\"0000-00-00 00:00:00\"");
}

TEST_CASE("DATETIME2 and TIMESTAMP2 decode with their fraction digits", "[binlog]") {
  ColumnInfo c = col(kTypeDatetime2);
  c.scale = 6;
  CHECK(value_of(c, {0x99, 0xb2, 0xbb, 0x7e, 0xfb, 0x0f, 0x42, 0x3f}) == "\"2024-02-29 23:59:59.999999\"");
  c.scale = 0;
  CHECK(value_of(c, {0x80, 0, 0, 0, 0}) == "\"0000-00-00 00:00:00\"");
  ColumnInfo t = col(kTypeTimestamp2);
  t.scale = 3;
  // 1712498988.413 (the ENVIRONMENT.md example), big-endian seconds then 4130 hundreds of micros.
  CHECK(value_of(t, {0x66, 0x12, 0xa9, 0x2c, 0x10, 0x22}) == "\"2024-04-07 14:09:48.413\"");
  CHECK(value_of(t, {0, 0, 0, 0, 0, 0}) == "\"0000-00-00 00:00:00.000\"");
  CHECK(value_of(col(kTypeTimestamp), le(1471859245, 4)) == "\"2016-08-22 09:47:25\"");
}

TEST_CASE("YEAR is a number, 0 stays 0", "[binlog]") {
  CHECK(value_of(col(kTypeYear), {0}) == "0");
  CHECK(value_of(col(kTypeYear), {124}) == "2024");
}

TEST_CASE("text converts to UTF-8 from its charset; empty string differs from NULL", "[binlog]") {
  ColumnInfo c = col(kTypeVarchar);
  c.max_length = 40;
  c.charset = Charset::kUtf8mb4;
  CHECK(value_of(c, {4, 0xf0, 0x9f, 0x98, 0x80}) == "\"\xf0\x9f\x98\x80\"");
  CHECK(value_of(c, {0}) == "\"\"");
  CHECK(value_of(c, {2, 'a', '"'}) == "\"a\\\"\"");
  c.charset = Charset::kLatin1;
  CHECK(value_of(c, {2, 0x80, 0xe9}) == "\"\xe2\x82\xac\xc3\xa9\"");
  c.charset = Charset::kUtf8mb4;
  CHECK(value_of(c, {2, 'a', 0xff}) == "\"a\xef\xbf\xbd\"");
  c.max_length = 300;  // two length bytes
  CHECK(value_of(c, {1, 0, 'x'}) == "\"x\"");

  // NULL comes from the image's NULL bitmap.
  TableMap t;
  t.columns = {c, c};
  t.columns[1].name = "d";
  RowDecoder d;
  Image img;
  std::vector<uint8_t> row = {0x02, 0, 0};  // column 2 NULL; column 1 the empty string
  uint8_t present = 0x03;
  Reader r(row.data(), row.size(), 0);
  d.decode(r, t, &present, img, nullptr);
  CHECK(img.json(img.cells[0]) == "\"\"");
  CHECK(img.cells[1].kind == CellKind::kNull);
  CHECK(img.json(img.cells[1]) == "null");
  CHECK_FALSE(img.lacks_columns);
}

TEST_CASE("binary strings are base64, BINARY(n) padded to n bytes, unknown charsets base64", "[binlog]") {
  ColumnInfo c = col(kTypeString);
  c.max_length = 4;
  c.charset = Charset::kBinary;
  CHECK(value_of(c, {2, 'a', 'b'}) == "\"YWIAAA==\"");
  ColumnInfo b = col(kTypeBlob);
  b.max_length = 2;
  CHECK(value_of(b, {3, 0, 'a', 'b', 'c'}) == "\"YWJj\"");
}

TEST_CASE("ENUM and SET use their labels when known, numbers otherwise; BIT is a number", "[binlog]") {
  ColumnInfo e = col(kTypeEnum);
  e.pack_length = 1;
  CHECK(value_of(e, {2}) == "2");
  e.labels = {"low", "high"};
  CHECK(value_of(e, {2}) == "\"high\"");
  ColumnInfo s = col(kTypeSet);
  s.pack_length = 1;
  s.labels = {"a", "b", "c"};
  CHECK(value_of(s, {5}) == "\"a,c\"");
  CHECK(value_of(s, {0}) == "\"\"");
  ColumnInfo bit = col(kTypeBit);
  bit.bits = 10;
  CHECK(value_of(bit, {0x03, 0xff}) == "1023");
}

TEST_CASE("MySQL binary JSON renders compactly in storage order", "[binlog]") {
  ColumnInfo j = col(kTypeJson);
  j.max_length = 4;
  std::vector<uint8_t> doc = {0x00, 0x03, 0x00, 0x28, 0x00, 0x19, 0x00, 0x01, 0x00, 0x1a, 0x00, 0x01, 0x00, 0x1b,
                              0x00, 0x01, 0x00, 0x05, 0x01, 0x00, 0x02, 0x1c, 0x00, 0x0c, 0x26, 0x00, 0x61, 0x62,
                              0x73, 0x02, 0x00, 0x0a, 0x00, 0x04, 0x01, 0x00, 0x04, 0x00, 0x00, 0x01, 0x78};
  std::vector<uint8_t> bytes = le(doc.size(), 4);
  bytes.insert(bytes.end(), doc.begin(), doc.end());
  CellKind kind;
  CHECK(value_of(j, bytes, &kind) == "{\"a\":1,\"b\":[true,null],\"s\":\"x\"}");
  CHECK(kind == CellKind::kJson);
  std::string out;
  append_json_binary(out, {}, 0);
  CHECK(out == "null");
  // A container whose size runs past the document is corrupt, not a crash.
  std::vector<uint8_t> bad = {0x02, 0x01, 0x00, 0xff, 0x00};
  out.clear();
  CHECK_THROWS_AS(append_json_binary(out, {reinterpret_cast<const char*>(bad.data()), bad.size()}, 0), Error);
}

TEST_CASE("VECTOR is an array of floats", "[binlog]") {
  ColumnInfo v = col(kTypeVector);
  v.max_length = 4;
  CHECK(value_of(v, {12, 0, 0, 0, 0xcd, 0xcc, 0x8c, 0x3f, 0xcd, 0xcc, 0x0c, 0x40, 0x33, 0x33, 0x53, 0x40}) ==
        "[1.1,2.2,3.3]");
}

TEST_CASE("a table map with full metadata names columns, key, charsets and signedness", "[binlog]") {
  // MySQL 9.0.1 `dtb`.`bar` from the corpus's vector.binlog (post-header, then body).
  const char* hex =
      "57 00 00 00 00 00 01 00 03 64 74 62 00 03 62 61 72 00 04 08 f2 fc f2 03 04 02 04 04 01 01 80 02 05 3f "
      "01 fc ff 00 0d 02 02 04 04 24 02 69 64 0d 76 65 63 74 6f 72 5f 63 6f 6c 75 6d 6e 03 66 6f 6f 0e 76 65 "
      "63 74 6f 72 5f 63 6f 6c 75 6d 6e 32 08 01 00 0c 01 f0";
  std::string body;
  for (const char* p = hex; *p && p[1];) {
    if (*p == ' ') {
      ++p;
      continue;
    }
    char b[3] = {p[0], p[1], 0};
    body += static_cast<char>(std::strtol(b, nullptr, 16));
    p += 2;
  }
  auto t = parse_table_map(body, 0, 8, false, nullptr);
  REQUIRE(t->columns.size() == 4);
  CHECK(t->db == "dtb");
  CHECK(t->table == "bar");
  CHECK(t->columns[0].is_unsigned);
  CHECK(t->columns[2].charset == Charset::kUtf8mb4);
  CHECK(t->types_json == R"({"id":"bigint unsigned","vector_column":"vector","foo":"text","vector_column2":"vector"})");
  CHECK(t->pk_json == R"(["id"])");
  // Every proper prefix fails cleanly.
  for (size_t n = 0; n < body.size(); ++n) {
    try {
      parse_table_map(std::string_view(body).substr(0, n), 0, 8, false, nullptr);
    } catch (const Error&) {
    }
  }
}

TEST_CASE("statements are classified and DDL table names found", "[binlog]") {
  std::string id;
  CHECK(classify_statement("BEGIN") == StatementKind::kBegin);
  CHECK(classify_statement("  /* x */ commit") == StatementKind::kCommit);
  CHECK(classify_statement("ROLLBACK TO SAVEPOINT a") == StatementKind::kSavepoint);
  CHECK(classify_statement("insert into t values (1)") == StatementKind::kDml);
  CHECK(classify_statement("XA START X'31',X'',1", &id) == StatementKind::kXaStart);
  CHECK(id == "X'31',X'',1");
  CHECK(classify_statement("CREATE TABLE t (a int)") == StatementKind::kDdl);
  auto t = ddl_tables("DROP TABLE IF EXISTS `a`, db2.`b` /* generated by server */", "db");
  REQUIRE(t.size() == 2);
  CHECK(t[0] == std::pair<std::string, std::string>("db", "a"));
  CHECK(t[1] == std::pair<std::string, std::string>("db2", "b"));
  t = ddl_tables("rename table a to b, c to d", "x");
  CHECK(t.size() == 4);
  t = ddl_tables("TRUNCATE t1", "x");
  REQUIRE(t.size() == 1);
  CHECK(t[0].second == "t1");
  CHECK(ddl_tables("CREATE DATABASE x", "y").empty());
}

TEST_CASE("collation ids map to their character sets, MySQL 8 and MariaDB 11 alike", "[binlog]") {
  CHECK(charset_of_collation(8) == Charset::kLatin1);
  CHECK(charset_of_collation(33) == Charset::kUtf8mb3);
  CHECK(charset_of_collation(45) == Charset::kUtf8mb4);
  CHECK(charset_of_collation(63) == Charset::kBinary);
  CHECK(charset_of_collation(255) == Charset::kUtf8mb4);  // utf8mb4_0900_ai_ci
  CHECK(charset_of_collation(309) == Charset::kUtf8mb4);  // utf8mb4_0900_bin
  CHECK(charset_of_collation(248) == Charset::kGb18030);
  CHECK(charset_of_collation(1057) == Charset::kUtf8mb3);  // MariaDB nopad
  CHECK(charset_of_collation(2304) == Charset::kUtf8mb4);  // utf8mb4_uca1400_ai_ci
  CHECK(charset_of_collation(0) == Charset::kUnknown);
  CHECK(charset_of_collation(9999) == Charset::kUnknown);
  TextConverter conv;
  std::string out;
  CHECK(conv.to_utf8(out, std::string("\x00\x41\xd8\x3d\xde\x00", 6), Charset::kUtf16) == 0);
  CHECK(out == "A\xf0\x9f\x98\x80");
  out.clear();
  CHECK(conv.to_utf8(out, std::string("\xd6\xd0", 2), Charset::kGbk) == 0);
  CHECK(out == "\xe4\xb8\xad");
  out.clear();
  CHECK(conv.to_utf8(out, "\xd6", Charset::kGbk) == 1);
}

TEST_CASE("the line emitter holds the last row until the transaction ends", "[binlog]") {
  TableMap t;
  t.db = "test";
  t.table = "users";
  t.pk_known = true;
  t.pk_json = R"(["uid"])";
  t.types_json = R"({"uid":"int unsigned","username":"varchar"})";
  t.key_json = {"\"uid\":", "\"username\":"};
  Image before, after;
  before.reset(2);
  before.text = "8\"a\"";
  before.cells = {{CellKind::kNumber, 0, 1}, {CellKind::kString, 1, 3}};
  after = before;
  after.text = "8\"b\"";
  Position pos{"mysql-bin.000009", 1235};
  TransactionInfo tx{"0-1-42", 1};
  RowChange rc;
  rc.kind = RowKind::kUpdate;
  rc.table = &t;
  rc.position = &pos;
  rc.timestamp = 1471859245;
  rc.transaction = &tx;
  rc.before = &before;
  rc.after = &after;
  LineEmitter e;
  e.on_row(rc);
  CHECK(e.complete().empty());
  CHECK(e.has_pending());
  TransactionEnd end;
  end.next = Position{"mysql-bin.000009", 1890};
  end.xid = 77;
  e.on_transaction_end(end);
  CHECK(e.complete() ==
        R"({"binlog":"mysql-bin.000009:1235","row":0,"server_id":1,"gtid":"0-1-42","db":"test","table":"users",)"
        R"("eventType":"UPDATE","pk":["uid"],"types":{"uid":"int unsigned","username":"varchar"},)"
        R"("before":{"uid":8,"username":"a"},"after":{"uid":8,"username":"b"},"time":"2016-08-22 09:47:25",)"
        R"("ts":1471859245,"xid":77,"commit":true,"next":"mysql-bin.000009:1890"})"
        "\n");
}

TEST_CASE("the file framer rejects bad magic and files that end inside an event", "[binlog]") {
  FileFramer f;
  const uint8_t gz[] = {0x1f, 0x8b, 0x08, 0x08};
  f.push(gz, 4);
  std::span<const uint8_t> ev;
  uint64_t off;
  CHECK_THROWS_AS(f.next(ev, off), Error);
  FileFramer g;
  const uint8_t part[] = {0xfe, 'b', 'i', 'n', 1, 2, 3};
  g.push(part, sizeof part);
  CHECK_FALSE(g.next(ev, off));
  CHECK_THROWS_AS(g.finish(), Error);
}

// MySQL's malformed-rows test, over the whole corpus: every proper prefix of every event up to
// 4 KB (256 cut points of larger ones), framed as a complete event with a valid checksum so the
// body decoders see it, must end in an Error or decode, never crash.
TEST_CASE("every truncated corpus event fails cleanly", "[binlog][corpus]") {
  const char* env = std::getenv("BINLOG_CORPUS");
  std::filesystem::path corpus = env ? env : "../shared/corpus/binlog";
  if (!std::filesystem::exists(corpus)) {
    WARN("corpus not found at " << corpus.string() << ": skipped");
    return;
  }
  size_t events = 0, variants = 0, errors = 0;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(corpus)) {
    auto name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.ends_with(".txt") || name.ends_with(".gz") || name.ends_with(".md")) continue;
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::vector<uint8_t> data = read_file(path);
    FileFramer framer;
    framer.push(data.data(), data.size());
    NullSink sink;
    DecoderOptions opts;
    opts.allow_statements = true;
    Decoder main(sink, opts);
    std::vector<std::vector<uint8_t>> context;  // the last FDE and the table maps after it
    bool crc = false;
    std::span<const uint8_t> ev;
    uint64_t off;
    while (true) {
      try {
        if (!framer.next(ev, off)) break;
      } catch (const Error&) {
        break;
      }
      ++events;
      size_t size = ev.size();
      size_t step = size <= 4096 ? 1 : std::max<size_t>(1, size / 256);
      // One probe decoder per event, in the state the event is decoded in (FDE and table maps);
      // variants that decode change its state a little, which only widens what is tried.
      NullSink probe_sink;
      Decoder probe(probe_sink, opts);
      try {
        for (const auto& c : context) probe.decode_event(c, 0);
      } catch (const Error&) {
      }
      for (size_t cut = kHeaderLength; cut < size; cut += step) {
        std::vector<uint8_t> v(ev.begin(), ev.begin() + static_cast<std::ptrdiff_t>(cut));
        if (crc && ev[4] != kFormatDescriptionEvent) {
          uLong c = crc32(0L, v.data(), static_cast<uInt>(v.size()));
          for (int i = 0; i < 4; ++i) v.push_back(static_cast<uint8_t>(c >> (8 * i)));
        }
        uint32_t n = static_cast<uint32_t>(v.size());
        std::memcpy(v.data() + 9, &n, 4);
        try {
          probe.decode_event(v, off);
        } catch (const Error&) {
          ++errors;
        }
        ++variants;
      }
      bool ok = true;
      try {
        main.decode_event(ev, off);
      } catch (const Error&) {
        ok = false;
      }
      if (!ok) break;  // the rest of a negative sample is not decodable anyway
      if (ev[4] == kFormatDescriptionEvent) {
        context.clear();
        context.emplace_back(ev.begin(), ev.end());
        crc = main.format().checksum == kChecksumCrc32;
      } else if (ev[4] == kTableMapEvent) {
        if (context.size() > 8) context.erase(context.begin() + 1);
        context.emplace_back(ev.begin(), ev.end());
      }
    }
  }
  INFO(events << " events, " << variants << " truncated variants, " << errors << " errors");
  CHECK(events > 1000);
  CHECK(errors > 0);
}

// The decoder writes temporal values into one buffer; they must read exactly as the shared value
// writers (event/values.hpp) render them, for every field in range.
TEST_CASE("packed DATETIME and TIME render as the shared value writers do", "[binlog]") {
  uint64_t seed = 42;
  auto next = [&seed](uint64_t bound) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % bound;
  };
  for (int i = 0; i < 20000; ++i) {
    unsigned year = static_cast<unsigned>(next(10000)), month = static_cast<unsigned>(next(13)),
             day = static_cast<unsigned>(next(32)), hour = static_cast<unsigned>(next(32)),
             minute = static_cast<unsigned>(next(64)), second = static_cast<unsigned>(next(64)),
             fsp = static_cast<unsigned>(next(7));
    auto micros = static_cast<uint32_t>(next(1000000));
    int64_t ymd = ((int64_t{year} * 13 + month) << 5) | day;
    int64_t hms = (int64_t{hour} << 12) | (minute << 6) | second;
    int64_t packed = (((ymd << 17) | hms) << 24) + micros;
    std::string want, got;
    append_datetime(want, year, month, day, hour, minute, second, micros, fsp);
    append_packed_datetime(got, packed, fsp, false);
    REQUIRE(got == want);
    got.clear();
    append_packed_datetime(got, packed, fsp, false, true);
    REQUIRE(got == "\"" + want + "\"");

    unsigned hours = static_cast<unsigned>(next(1024));
    bool negative = next(2) == 1;
    int64_t t = ((int64_t{hours} << 12 | minute << 6 | second) << 24) + micros;
    want.clear();
    got.clear();
    append_time(want, negative && t != 0, hours, minute, second, micros, fsp);
    append_packed_time(got, negative ? -t : t, fsp, true);
    REQUIRE(got == "\"" + want + "\"");
  }
}

TEST_CASE("DECIMAL quoted and bare read the same digits", "[binlog]") {
  const uint8_t minus_1234_50[] = {0x7f, 0xff, 0xfb, 0x2d, 0xcd};
  std::string bare, quoted;
  append_decimal(bare, minus_1234_50, 10, 2);
  append_decimal(quoted, minus_1234_50, 10, 2, true);
  CHECK(bare == "-1234.50");
  CHECK(quoted == "\"-1234.50\"");
  const uint8_t tenth[] = {0x80, 0x01};  // DECIMAL(2,1) 0.1
  bare.clear();
  append_decimal(bare, tenth, 2, 1);
  CHECK(bare == "0.1");
}

TEST_CASE("the text buffer grows, inserts and drops its front", "[binlog]") {
  TextBuffer b;
  CHECK(b.empty());
  for (int i = 0; i < 1000; ++i) b += "0123456789";
  CHECK(b.size() == 10000);
  b.truncate(5);
  b += 'x';
  b.append_int(-42);
  CHECK(b.view() == "01234x-42");
  b.insert(5, "[ins]");
  CHECK(b.view() == "01234[ins]x-42");
  b.erase_front(5);
  CHECK(b.view() == "[ins]x-42");
  TextBuffer copy = b;
  TextBuffer moved = std::move(b);
  CHECK(copy.view() == moved.view());
  CHECK(b.empty());  // NOLINT(bugprone-use-after-move): a moved-from buffer is empty and usable
  b += "again";
  CHECK(b.view() == "again");
  copy.shrink_if_above(16);
  CHECK(copy.view() == "[ins]x-42");
}

namespace {

// A two-column table (id int, v varchar) and one UPDATE row change over it.
struct OneRow {
  TableMap t;
  Image before, after;
  Position pos{"mysql-bin.000001", 400};
  TransactionInfo tx{"0-1-5", 1};
  RowChange rc;
  OneRow() {
    t.db = "d";
    t.table = "t";
    t.pk_known = true;
    t.pk_json = R"(["id"])";
    t.types_json = R"({"id":"int","v":"varchar"})";
    t.key_json = {"\"id\":", "\"v\":"};
    before.reset(2);
    before.text = "1null";
    before.cells = {{CellKind::kNumber, 0, 1}, {CellKind::kNull, 1, 4}};
    after.reset(2);
    after.text = "1\"a \\\"q\\\"\"";
    after.cells = {{CellKind::kNumber, 0, 1}, {CellKind::kString, 1, 9}};
    rc.kind = RowKind::kUpdate;
    rc.table = &t;
    rc.position = &pos;
    rc.timestamp = 1471859245;
    rc.transaction = &tx;
    rc.before = &before;
    rc.after = &after;
  }
};

}  // namespace

TEST_CASE("seed lines write NULL as an empty string and numbers as strings, CRLF-ended", "[binlog]") {
  OneRow r;
  LineEmitter e(LineFormat::kSeed);
  e.on_row(r.rc);
  CHECK_FALSE(e.has_pending());
  CHECK(e.complete() ==
        R"({"binlog":"mysql-bin.000001:400","db":"d","table":"t","eventType":"UPDATE","before":{"id":"1","v":""},)"
        R"("after":{"id":"1","v":"a \"q\""},"time":"2016-08-22 09:47:25"})"
        "\r\n");
  r.rc.kind = RowKind::kDelete;
  r.rc.after = nullptr;
  e.clear_complete();
  e.on_row(r.rc);
  CHECK(e.complete() == R"({"binlog":"mysql-bin.000001:400","db":"d","table":"t","eventType":"DELETE","before":"",)"
                        R"("after":{"id":"1","v":""},"time":"2016-08-22 09:47:25"})"
                        "\r\n");
}

TEST_CASE("the line emitter hands out complete lines while it holds the last one", "[binlog]") {
  OneRow r;
  LineEmitter e;
  e.on_row(r.rc);
  r.rc.row = 1;
  e.on_row(r.rc);  // completes the first line (no commit fields), holds the second
  CHECK(e.has_pending());
  std::string_view first = e.complete();
  REQUIRE(first.size() > 0);
  CHECK(first.back() == '\n');
  CHECK(first.find("\"commit\"") == std::string_view::npos);
  e.append_line("{\"binlog\":\"x.000001:4\",\"eventType\":\"HEARTBEAT\"}\n");
  CHECK(e.complete().ends_with("HEARTBEAT\"}\n"));
  e.clear_complete();
  CHECK(e.complete().empty());
  TransactionEnd end;
  end.next = Position{"mysql-bin.000001", 500};
  e.on_transaction_end(end);
  CHECK(e.complete().starts_with(R"({"binlog":"mysql-bin.000001:400","row":1,)"));
  CHECK(e.complete().ends_with(R"("commit":true,"next":"mysql-bin.000001:500"})"
                               "\n"));
  CHECK(e.lines() == 2);
}

// decimal2bin of MySQL's strings/decimal.cc, for random values: sign, zero-padded integer and
// fraction digits, in groups of 9 (4 bytes) plus the partial groups' bytes, big-endian, the first
// byte's high bit flipped, every byte complemented when negative.
TEST_CASE("random DECIMALs of every precision and scale read back as their digits", "[binlog]") {
  static const unsigned kBytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
  uint64_t seed = 7;
  auto next = [&seed](uint64_t bound) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % bound;
  };
  for (int n = 0; n < 20000; ++n) {
    unsigned precision = 1 + static_cast<unsigned>(next(65));
    unsigned scale = static_cast<unsigned>(next(std::min(precision, 30u) + 1));
    unsigned intg = precision - scale;
    bool negative = next(2) == 1;
    std::string digits;
    for (unsigned i = 0; i < precision; ++i) {
      // Many zeros, to exercise leading zero groups and "0.x".
      digits += static_cast<char>(next(3) == 0 ? '0' + next(10) : '0');
    }
    std::vector<uint8_t> bin;
    auto emit = [&](const std::string& group) {
      uint32_t v = group.empty() ? 0 : static_cast<uint32_t>(std::stoul(group));
      unsigned nbytes = group.size() == 9 ? 4 : kBytes[group.size()];
      for (unsigned i = nbytes; i-- > 0;) bin.push_back(static_cast<uint8_t>(v >> (8 * i)));
    };
    std::string ipart = digits.substr(0, intg), fpart = digits.substr(intg);
    if (intg % 9) emit(ipart.substr(0, intg % 9));
    for (unsigned i = intg % 9; i < intg; i += 9) emit(ipart.substr(i, 9));
    for (unsigned i = 0; i + 9 <= scale; i += 9) emit(fpart.substr(i, 9));
    if (scale % 9) emit(fpart.substr(scale - scale % 9));
    REQUIRE(bin.size() == decimal_bin_size(precision, scale));
    bin[0] ^= 0x80;
    if (negative)
      for (auto& b : bin) b = static_cast<uint8_t>(~b);
    std::string want;
    size_t first = ipart.find_first_not_of('0');
    bool zero = digits.find_first_not_of('0') == std::string::npos;
    if (negative && !zero) want += '-';
    want += first == std::string::npos ? "0" : ipart.substr(first);
    if (scale) want += "." + fpart;
    std::string got;
    append_decimal(got, bin.data(), precision, scale);
    INFO("DECIMAL(" << precision << "," << scale << ") " << (negative ? "-" : "") << digits);
    REQUIRE(got == want);
  }
}
