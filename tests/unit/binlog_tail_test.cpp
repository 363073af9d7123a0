// Unit tests of binlog-tail's own parts: table and kind filters, HEARTBEAT lines, time zones of
// the `time` field, ENUM/SET labels from information_schema.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <string>
#include <vector>

#include "../../tools/binlog-tail/line_sink.hpp"
#include "../../tools/binlog-tail/schema.hpp"
#include "../../tools/binlog-tail/time_zone.hpp"
#include "cli/error.hpp"

using namespace rowpipe;
using namespace rowpipe::tail;
using rowpipe::binlog::LineFormat;
using rowpipe::binlog::RowKind;

TEST_CASE("table filters match the whole db.table; --exclude wins; --events picks kinds", "[binlog-tail]") {
  Filter none({}, {}, "");
  CHECK_FALSE(none.active());
  CHECK(none.keeps_table("any", "thing"));

  Filter f({R"(shop\..*)", R"(crm\.users)"}, {R"(shop\.secret_.*)"}, "insert,delete");
  CHECK(f.active());
  CHECK(f.keeps_table("shop", "orders"));
  CHECK(f.keeps_table("crm", "users"));
  CHECK_FALSE(f.keeps_table("crm", "users_old"));  // the whole name must match
  CHECK_FALSE(f.keeps_table("xshop", "orders"));
  CHECK_FALSE(f.keeps_table("shop", "secret_keys"));
  CHECK(f.keeps(RowKind::kInsert));
  CHECK_FALSE(f.keeps(RowKind::kUpdate));
  CHECK(f.keeps(RowKind::kDelete));
  CHECK_FALSE(f.keeps_ddl());

  CHECK_THROWS_AS(Filter({"("}, {}, ""), Error);
  CHECK_THROWS_AS(Filter({}, {}, "insert,upsert"), Error);
  try {
    Filter({}, {}, "inserts");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kUsage);
  }
}

namespace {

struct Row {
  binlog::TableMap t;
  binlog::Image after;
  Position pos{"mysql-bin.000003", 100};
  binlog::TransactionInfo tx{"0-1-9", 7};
  binlog::RowChange rc;
  explicit Row(const std::string& table) {
    t.db = "d";
    t.table = table;
    t.types_json = R"({"id":"int"})";
    t.key_json = {"\"id\":"};
    after.reset(1);
    after.text = "1";
    after.cells = {{binlog::CellKind::kNumber, 0, 1}};
    rc.kind = RowKind::kInsert;
    rc.table = &t;
    rc.position = &pos;
    rc.timestamp = 1700000000;
    rc.transaction = &tx;
    rc.after = &after;
  }
};

binlog::TransactionEnd end_at(uint64_t next, const binlog::TransactionInfo* tx) {
  binlog::TransactionEnd e;
  e.next = Position{"mysql-bin.000003", next};
  e.rows = 1;
  e.timestamp = 1700000000;
  e.transaction = tx;
  return e;
}

}  // namespace

TEST_CASE("transactions filtered out leave one HEARTBEAT line at the position after them", "[binlog-tail]") {
  TailSink sink(LineFormat::kNative, Filter({"d\\.kept"}, {}, ""), make_time_formatter("", false));
  Row dropped("dropped"), kept("kept");
  sink.on_row(dropped.rc);
  sink.on_transaction_end(end_at(200, &dropped.tx));
  sink.on_row(dropped.rc);
  sink.on_transaction_end(end_at(300, &dropped.tx));
  CHECK(sink.complete().empty());
  sink.heartbeat_if_due();
  CHECK(sink.complete() ==
        R"({"binlog":"mysql-bin.000003:300","server_id":7,"gtid":"0-1-9","eventType":"HEARTBEAT",)"
        R"("time":"2023-11-14 22:13:20","ts":1700000000,"commit":true,"next":"mysql-bin.000003:300"})"
        "\n");
  sink.clear_complete();
  sink.heartbeat_if_due();  // nothing new was filtered out
  CHECK(sink.complete().empty());

  // A kept transaction's commit line supersedes a due heartbeat.
  sink.on_row(dropped.rc);
  sink.on_transaction_end(end_at(400, &dropped.tx));
  sink.on_row(kept.rc);
  sink.on_transaction_end(end_at(500, &kept.tx));
  sink.heartbeat_if_due();
  CHECK(sink.complete().find("HEARTBEAT") == std::string_view::npos);
  CHECK(sink.complete().ends_with(R"("commit":true,"next":"mysql-bin.000003:500"})"
                                  "\n"));
  CHECK(sink.lines() == 2);

  // A long run of filtered transactions writes a heartbeat every kHeartbeatEvery of them.
  sink.clear_complete();
  for (uint64_t i = 0; i < 2 * TailSink::kHeartbeatEvery; ++i) {
    sink.on_row(dropped.rc);
    sink.on_transaction_end(end_at(1000 + i, &dropped.tx));
  }
  std::string_view out = sink.complete();
  size_t beats = 0;
  for (size_t at = out.find("HEARTBEAT"); at != std::string_view::npos; at = out.find("HEARTBEAT", at + 1)) ++beats;
  CHECK(beats == 2);
}

TEST_CASE("without filters nothing is dropped and no HEARTBEAT is written", "[binlog-tail]") {
  TailSink sink(LineFormat::kNative, Filter({}, {}, ""), make_time_formatter("", false));
  Row r("t");
  sink.on_row(r.rc);
  sink.on_transaction_end(end_at(200, &r.tx));
  sink.heartbeat_if_due();
  CHECK(sink.complete().find("\"eventType\":\"INSERT\"") != std::string_view::npos);
  CHECK(sink.complete().find("HEARTBEAT") == std::string_view::npos);
}

TEST_CASE("the time field is UTC by default, or in the zone asked for", "[binlog-tail]") {
  auto render = [](const binlog::LineEmitter::TimeFormatter& f, int64_t ts) {
    std::string out;
    f(out, ts);
    return out;
  };
  const int64_t ts = 1471859245;  // 2016-08-22 09:47:25 UTC
  CHECK(render(make_time_formatter("", false), ts) == "2016-08-22 09:47:25");
  CHECK(render(make_time_formatter("UTC", true), ts) == "2016-08-22 09:47:25");
  CHECK(render(make_time_formatter("+08:00", false), ts) == "2016-08-22 17:47:25");
  CHECK(render(make_time_formatter("-0530", false), ts) == "2016-08-22 04:17:25");
  CHECK(render(make_time_formatter("+8", false), ts) == "2016-08-22 17:47:25");
  struct stat st {};
  if (::stat("/usr/share/zoneinfo/Europe/Berlin", &st) == 0) {
    CHECK(render(make_time_formatter("Europe/Berlin", false), ts) == "2016-08-22 11:47:25");          // CEST
    CHECK(render(make_time_formatter("Europe/Berlin", false), 1453456045) == "2016-01-22 10:47:25");  // CET
  } else {
    WARN("no tz database here: named zones not checked");
  }
  CHECK(render(make_time_formatter("CET-1CEST,M3.5.0,M10.5.0/3", false), ts) == "2016-08-22 11:47:25");
  CHECK_THROWS_AS(make_time_formatter("Mars/Olympus_Mons", false), Error);
  CHECK_THROWS_AS(make_time_formatter("+25:00", false), Error);
  CHECK_THROWS_AS(make_time_formatter("../../etc/passwd", false), Error);
}

TEST_CASE("ENUM and SET labels are read from information_schema's COLUMN_TYPE", "[binlog-tail]") {
  CHECK(column_type_labels("enum('a','b','c')") == std::vector<std::string>{"a", "b", "c"});
  CHECK(column_type_labels("set('','x,y')") == std::vector<std::string>{"", "x,y"});
  // COLUMN_TYPE doubles quotes and backslashes: enum('it''s','a\\b') holds it's and a\b.
  CHECK(column_type_labels("enum('it''s','a\\\\b','caf\xc3\xa9')") ==
        std::vector<std::string>{"it's", "a\\b", "caf\xc3\xa9"});
  CHECK(column_type_labels("int(11) unsigned").empty());
  CHECK(column_type_labels("enum(").empty());
}
