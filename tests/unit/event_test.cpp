// Unit tests of the event model: positions, type words, values, the line parser and writer,
// key templates and map files.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "cli/error.hpp"
#include "event/column_type.hpp"
#include "event/event.hpp"
#include "event/json_parse.hpp"
#include "event/json_writer.hpp"
#include "event/key_template.hpp"
#include "event/map_file.hpp"
#include "event/position.hpp"
#include "event/values.hpp"

using namespace rowpipe;

namespace {

// Parses `line` and expects a data error whose message contains `fragment`.
void require_rejected(const std::string& line, const std::string& fragment) {
  EventParser parser;
  INFO("line: " << line);
  try {
    parser.parse(line);
    FAIL("accepted a malformed line");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kData);
    CHECK_THAT(e.what(), Catch::Contains(fragment));
  }
}

std::string canonical(const std::string& line) {
  EventParser parser;
  std::string out;
  append_event_line(out, parser.parse(line));
  return out;
}

const std::string kFull =
    R"J({"binlog":"mysql-bin.000009:1235","row":0,"server_id":1,"gtid":"0-1-42","db":"test","table":"users",)J"
    R"J("eventType":"UPDATE","pk":["uid"],"types":{"uid":"int unsigned","username":"varchar"},)J"
    R"J("before":{"uid":8,"username":"a"},"after":{"uid":8,"username":"b"},)J"
    R"J("time":"2016-08-22 09:47:25","ts":1471859245,"xid":77,"commit":true,"next":"mysql-bin.000009:1890"})J";

}  // namespace

TEST_CASE("positions order by file sequence number, then offset") {
  auto a = Position::parse("mysql-bin.000009:1235");
  auto b = Position::parse("mysql-bin.000010:4");
  auto c = Position::parse("mysql-bin.000009:1890");
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(*a < *b);
  CHECK(*a < *c);
  CHECK(*c < *b);
  CHECK(a->str() == "mysql-bin.000009:1235");
  // Sequence numbers compare as numbers, not strings, once they outgrow six digits.
  CHECK(*Position::parse("b.999999:9") < *Position::parse("b.1000000:4"));
  CHECK(file_sequence("mysql-bin.000042") == 42u);
}

TEST_CASE("malformed positions are refused") {
  for (const char* bad : {"", "mysql-bin", ":4", "f:", "f:-1", "f:1x", "f: 1", "f:99999999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(Position::parse(bad));
  }
  auto rp = RowPosition::parse("mysql-bin.000001:400:7");
  REQUIRE(rp);
  CHECK(rp->row == 7);
  CHECK(rp->pos.offset == 400);
  CHECK(RowPosition{*Position::parse("f.1:5"), 2} < RowPosition{*Position::parse("f.1:5"), 3});
}

TEST_CASE("every type word of the vocabulary reads back as itself") {
  for (const char* word : {"tinyint",       "tinyint unsigned",
                           "smallint",      "smallint unsigned",
                           "mediumint",     "mediumint unsigned",
                           "int",           "int unsigned",
                           "bigint",        "bigint unsigned",
                           "float",         "double",
                           "decimal(10,2)", "decimal(65,30)",
                           "date",          "time(0)",
                           "time(6)",       "datetime(3)",
                           "timestamp(6)",  "year",
                           "char",          "varchar",
                           "text",          "binary",
                           "varbinary",     "blob",
                           "enum",          "set",
                           "bit(1)",        "bit(64)",
                           "json",          "geometry",
                           "vector"}) {
    INFO(word);
    auto t = ColumnType::parse(word);
    REQUIRE(t);
    CHECK(t->word() == word);
  }
}

TEST_CASE("type words outside the vocabulary are refused") {
  for (const char* word : {"integer", "varchar(10)", "float unsigned", "decimal", "decimal(66,2)", "decimal(5,6)",
                           "datetime", "datetime(7)", "bit(0)", "bit(65)", "INT", "int  unsigned", "time(01)"}) {
    INFO(word);
    CHECK_FALSE(ColumnType::parse(word));
  }
}

TEST_CASE("JSON strings are escaped, and UTF-8 is validated") {
  std::string out;
  json::append_string(out, std::string("a\"b\\c\n\t\x01\x1f/\xf0\x9f\x98\x80", 14));
  CHECK(out == "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/\xf0\x9f\x98\x80\"");
  CHECK(json::is_valid_utf8("plain ascii text, long enough for the fast path"));
  CHECK(json::is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  CHECK_FALSE(json::is_valid_utf8("\xc3"));              // truncated
  CHECK_FALSE(json::is_valid_utf8("\xc0\xaf"));          // overlong
  CHECK_FALSE(json::is_valid_utf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(json::is_valid_utf8("\xf4\x90\x80\x80"));  // beyond U+10FFFF
  CHECK_FALSE(json::is_valid_utf8("\xff"));
}

TEST_CASE("floats render as the shortest decimal that reads back at their precision") {
  std::string out;
  json::append_float(out, 3.1415927f);
  out += ' ';
  json::append_double(out, 0.1);
  out += ' ';
  json::append_double(out, -1e300);
  out += ' ';
  json::append_float(out, std::numeric_limits<float>::max());
  out += ' ';
  json::append_double(out, std::nan(""));
  CHECK(out == "3.1415927 0.1 -1e+300 3.4028235e+38 null");
}

TEST_CASE("integers render exactly to 64 bits signed and unsigned") {
  std::string out;
  json::append_int(out, std::numeric_limits<int64_t>::min());
  out += ' ';
  json::append_int(out, std::numeric_limits<uint64_t>::max());
  CHECK(out == "-9223372036854775808 18446744073709551615");
}

TEST_CASE("dates and times render with their declared fraction digits") {
  std::string out;
  append_date(out, 0, 0, 0);
  CHECK(out == "0000-00-00");
  out.clear();
  append_time(out, true, 838, 59, 59, 0, 0);
  CHECK(out == "-838:59:59");
  out.clear();
  append_time(out, false, 1, 2, 3, 120000, 3);
  CHECK(out == "01:02:03.120");
  out.clear();
  append_datetime(out, 2016, 8, 22, 9, 47, 25, 123456, 6);
  CHECK(out == "2016-08-22 09:47:25.123456");
  out.clear();
  append_utc_datetime(out, 1471859245, 0, 0);
  CHECK(out == "2016-08-22 09:47:25");
  out.clear();
  append_utc_datetime(out, -1, 500000, 1);
  CHECK(out == "1969-12-31 23:59:59.5");
  int64_t y;
  unsigned m, d;
  civil_from_days(days_from_civil(2000, 2, 29), y, m, d);
  CHECK((y == 2000 && m == 2 && d == 29));
}

TEST_CASE("base64 round-trips every length and refuses non-canonical text") {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    std::string enc;
    base64_encode(enc, bytes);
    auto dec = base64_decode(enc);
    REQUIRE(dec);
    REQUIRE(*dec == bytes);
    bytes += static_cast<char>(i * 37);
  }
  std::string enc;
  base64_encode(enc, "\xff\x00\x10");
  CHECK(base64_decode("AAE=") == std::string("\x00\x01", 2));
  for (const char* bad : {"A", "AB=C", "A===", "AB*D", "AAF="}) {
    INFO(bad);
    CHECK_FALSE(base64_decode(bad));
  }
}

TEST_CASE("a full line round-trips field for field") {
  CHECK(canonical(kFull) == kFull);
  EventParser parser;
  const Event& e = parser.parse(kFull);
  CHECK(e.type == EventType::kUpdate);
  CHECK(e.binlog.str() == "mysql-bin.000009:1235");
  CHECK(e.row == 0u);
  CHECK(e.server_id == 1u);
  CHECK(e.gtid == "0-1-42");
  CHECK(e.db == "test");
  CHECK(e.table == "users");
  REQUIRE(e.pk.size() == 1);
  CHECK(e.pk[0] == "uid");
  CHECK(e.type_of("uid") == "int unsigned");
  CHECK((*e.before)["username"] == "a");
  CHECK((*e.after)["username"] == "b");
  CHECK(e.time == "2016-08-22 09:47:25");
  CHECK(e.ts == 1471859245);
  CHECK(e.xid == 77u);
  CHECK(e.commit);
  CHECK(e.next->str() == "mysql-bin.000009:1890");
}

TEST_CASE("every value type round-trips through parse and render") {
  const std::string line =
      R"J({"binlog":"b.000001:4","row":3,"db":"d","table":"t","eventType":"INSERT","pk":["a","b"],)J"
      R"J("types":{"i":"bigint","u":"bigint unsigned","f":"float","g":"double","dec":"decimal(65,30)",)J"
      R"J("dt":"datetime(6)","ts":"timestamp(3)","tm":"time(6)","d":"date","y":"year","s":"varchar",)J"
      R"J("bin":"varbinary","e":"enum","set":"set","bit":"bit(64)","j":"json","geo":"geometry","v":"vector","n":"int"},)J"
      R"J("before":null,"after":{"a":1,"b":"x","i":-9223372036854775808,"u":18446744073709551615,"f":3.1415927,)J"
      R"J("g":1e-300,"dec":"-12345678901234567890123456789012345.123456789012345678901234567890",)J"
      R"J("dt":"0000-00-00 00:00:00.000000","ts":"2038-01-19 03:14:07.999","tm":"-838:59:59.000000",)J"
      R"J("d":"2024-02-29","y":2155,"s":"\u0001 quote\" backslash\\ \ud83d\ude00","bin":"AP8=","e":"small",)J"
      R"J("set":"a,c","bit":18446744073709551615,"j":{"k":[1,2.5,null,true,false,"s",{}],"e":[]},)J"
      R"J("geo":"POINT(1 2)","v":[0.5,-1,3.25],"n":null},"partial":true,"snapshot":true,"time":"2024-01-01 00:00:00","ts":1704067200})J";
  std::string expected = line;
  // The writer emits characters as UTF-8 rather than \u escapes, and lower-cases nothing else.
  expected.replace(expected.find("\\ud83d\\ude00"), 12, "\xf0\x9f\x98\x80");
  CHECK(canonical(line) == expected);
  CHECK(canonical(canonical(line)) == canonical(line));
}

TEST_CASE("numbers convert exactly, typed as RapidJSON types them, with no undefined behaviour") {
  using json::Number;
  auto kind = [](const char* t) { return json::convert_number(t).kind; };
  CHECK(kind("0") == Number::kUint);
  CHECK(kind("18446744073709551615") == Number::kUint);
  CHECK(kind("18446744073709551616") == Number::kDouble);
  CHECK(kind("-2147483648") == Number::kInt);
  CHECK(kind("-2147483649") == Number::kInt64);
  CHECK(kind("-9223372036854775809") == Number::kDouble);
  CHECK(kind("1e400") == Number::kTooBig);
  CHECK(kind("-0.5e99999999999") == Number::kTooBig);
  // A negative zero keeps its sign; underflow is zero of the right sign.
  CHECK(std::signbit(json::convert_number("-0").d));
  CHECK(std::signbit(json::convert_number("-1e-400").d));
  CHECK(json::convert_number("1e-400").d == 0.0);
  // Long digit runs against long exponents: the magnitude is the exponent plus the digits' place.
  CHECK(kind(("0." + std::string(200000, '0') + "1e300000").c_str()) == Number::kTooBig);
  CHECK(json::convert_number("1" + std::string(200000, '0') + "e-300000").d == 0.0);
  // Correctly rounded: the nearest double, where RapidJSON's normal precision is off by an ulp.
  CHECK(json::convert_number("2.2250738585072011e-308").d == 2.2250738585072011e-308);
  CHECK(json::convert_number("0.1").d == 0.1);
  // Inputs that reach undefined behaviour in RapidJSON's full-precision path (found by fuzz_jsonl).
  const std::string head = R"J({"binlog":"b.000001:4","row":0,"db":"d","table":"t","eventType":"INSERT",)J";
  const std::string out = head + R"J("before":null,"after":{"x":)J";
  CHECK(canonical(head + R"J("after":{"x":0.000000000000000000000000000000000000000000000000000000000e-310}})J") ==
        out + "0}}");
  CHECK(canonical(head + R"J("after":{"x":0.00000000000000000000000000000000000000000000000000000001e-300}})J") ==
        out + "0}}");
  CHECK(canonical(head + R"J("after":{"x":-1e-400}})J") == out + "-0}}");
  CHECK(canonical(out + "-0}}") == out + "-0}}");
  std::string too_big = head + R"J("after":{"x":1e400}})J";
  require_rejected(too_big, "invalid JSON at byte " + std::to_string(too_big.find("1e400") + 1) + ": Number too big");
}

TEST_CASE("lines of every event type are accepted") {
  for (
      const char* line : {
          R"J({"binlog":"b.000001:4","db":"d","table":"t","eventType":"INSERT","before":null,"after":{"id":1}})J",
          R"J({"binlog":"b.000001:4","db":"d","table":"t","eventType":"DELETE","before":{"id":1},"after":null})J",
          R"J({"binlog":"b.000001:4","db":"d","eventType":"DDL","sql":"TRUNCATE TABLE t","table":"t"})J",
          R"J({"binlog":"b.000001:4","eventType":"HEARTBEAT","next":"b.000001:99","commit":true})J",
          R"J({"binlog":"b.000001:4","db":"d","table":"t","eventType":"SNAPSHOT_BEGIN"})J",
          R"J({"binlog":"b.000001:4","db":"d","table":"t","eventType":"SNAPSHOT_END"})J",
          R"J({"binlog":"b.000001:4","db":"d","table":"t","eventType":"INSERT","after":{"id":1},"future_field":{"x":1}})J",
      }) {
    INFO(line);
    EventParser parser;
    CHECK_NOTHROW(parser.parse(line));
  }
}

TEST_CASE("seed lines of the original system are read with their quirks") {
  EventParser parser;
  const Event& ins = parser.parse(
      R"J({"binlog":"mysql-bin.000052:754","db":"kelin_test","table":"user","eventType":"INSERT","before":"","after":{"id":"9","uid":"18"},"time":"2016-08-23 15:44:10"})J");
  CHECK(ins.seed);
  CHECK(ins.before == nullptr);
  CHECK((*ins.after)["id"] == "9");
  CHECK(ins.row == 0u);
  const Event& del = parser.parse(
      R"J({"binlog":"mysql-bin.000052:1206","db":"kelin_test","table":"user","eventType":"DELETE","before":"","after":{"id":"6"},"time":"2016-08-23 15:44:36"})J");
  CHECK(del.seed);
  // The seed format puts the deleted row in `after`; the model holds it as the before image.
  REQUIRE(del.before != nullptr);
  CHECK((*del.before)["id"] == "6");
  CHECK(del.after == nullptr);
  CHECK(del.key_image() == del.before);
}

TEST_CASE("seed lines that share a position are numbered in input order") {
  EventParser parser;
  const char* a =
      R"J({"binlog":"mysql-bin.000058:1014","db":"k","table":"user","eventType":"UPDATE","before":{"id":"1"},"after":{"id":"1"},"time":"t"})J";
  const char* b =
      R"J({"binlog":"mysql-bin.000058:1290","db":"k","table":"user","eventType":"UPDATE","before":{"id":"2"},"after":{"id":"2"},"time":"t"})J";
  std::vector<uint64_t> rows;
  for (const char* line : {a, a, a, b, a}) {
    const Event& e = parser.parse(line);
    CHECK(e.seed);
    rows.push_back(*e.row);
  }
  CHECK(rows == std::vector<uint64_t>{0, 1, 2, 0, 0});
  // A native line (it has a row number) is not a seed line.
  CHECK_FALSE(parser.parse(kFull).seed);
}

TEST_CASE("every class of malformed line is rejected with its reason") {
  require_rejected("", "invalid JSON");
  require_rejected("{", "invalid JSON");
  require_rejected("not json", "invalid JSON");
  require_rejected(R"J({"binlog":"b.1:4"} trailing)J", "invalid JSON");
  require_rejected("[1,2]", "not a JSON object");
  require_rejected(std::string("{\"binlog\":\"b.1:4\",\"x\":\"\xff\"}"), "invalid JSON");
  require_rejected(std::string("{\"a\":1}\0", 8), "NUL");
  require_rejected(R"J({"db":"d","table":"t","eventType":"INSERT","after":{}})J", "missing field \"binlog\"");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","table":"t","after":{}})J", "missing field \"eventType\"");
  require_rejected(R"J({"binlog":"b.1:4","table":"t","eventType":"INSERT","after":{}})J", "missing field \"db\"");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","eventType":"INSERT","after":{}})J", "missing field \"table\"");
  require_rejected(R"J({"binlog":"b.1:4","db":"","table":"t","eventType":"INSERT","after":{}})J", "must not be empty");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"UPSERT","after":{}})J", "unknown eventType");
  require_rejected(R"J({"binlog":"b.1","db":"d","table":"t","eventType":"INSERT","after":{}})J", "FILE:POS");
  require_rejected(R"J({"binlog":4,"db":"d","table":"t","eventType":"INSERT","after":{}})J", "must be a string");
  require_rejected(R"J({"binlog":"b.1:4","row":-1,"db":"d","table":"t","eventType":"INSERT","after":{}})J",
                   "\"row\" must be a non-negative integer");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"INSERT","after":{},"commit":1})J",
                   "\"commit\" must be true or false");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"INSERT","after":{},"pk":"id"})J",
                   "\"pk\" must be an array");
  require_rejected(
      R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"INSERT","after":{},"types":{"a":"integer"}})J",
      "outside the vocabulary");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"INSERT","after":[1]})J",
                   "must be an object");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"INSERT","before":null})J",
                   "without an \"after\"");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"INSERT","before":{"a":1},"after":{"a":1}})J",
                   "with a \"before\"");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"UPDATE","after":{"a":1}})J", "needs both");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"DELETE","before":null,"after":null})J",
                   "without a \"before\"");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"DELETE","before":{"a":1},"after":{"a":1}})J",
                   "with an \"after\"");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"INSERT","pk":["id"],"after":{"a":1}})J",
                   "key column \"id\" missing");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","eventType":"DDL"})J", "without \"sql\"");
  require_rejected(R"J({"binlog":"b.1:4","eventType":"HEARTBEAT","after":{"a":1}})J", "with a row image");
  require_rejected(
      R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"INSERT","after":{},"commit":true,"next":"b.1:2"})J",
      "before \"binlog\"");
  require_rejected(R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"INSERT","after":{},"ts":"now"})J",
                   "\"ts\" must be an integer");
}

TEST_CASE("the parser reuses its memory and keeps each event intact until the next parse") {
  EventParser parser;
  for (int i = 0; i < 1000; ++i) {
    std::string line = R"J({"binlog":"b.000001:)J" + std::to_string(i + 4) +
                       R"J(","db":"d","table":"t","eventType":"INSERT","pk":["id"],"after":{"id":)J" +
                       std::to_string(i) + "}}";
    const Event& e = parser.parse(line);
    REQUIRE((*e.after)["id"].GetInt() == i);
    REQUIRE(e.binlog.offset == static_cast<uint64_t>(i + 4));
  }
}

TEST_CASE("value_text shows numbers in decimal, binary columns as raw bytes, and NULL as nothing") {
  EventParser parser;
  const Event& e = parser.parse(
      R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"INSERT","types":{"b":"varbinary","s":"varchar"},)J"
      R"J("after":{"b":"AP8=","s":"AP8=","n":-5,"f":2.5,"j":{"a":[1]},"z":null}})J");
  CHECK(value_text(e, "b", (*e.after)["b"]) == std::string("\x00\xff", 2));
  CHECK(value_text(e, "s", (*e.after)["s"]) == "AP8=");
  CHECK(value_text(e, "n", (*e.after)["n"]) == "-5");
  CHECK(value_text(e, "f", (*e.after)["f"]) == "2.5");
  CHECK(value_text(e, "j", (*e.after)["j"]) == R"J({"a":[1]})J");
  CHECK_FALSE(value_text(e, "z", (*e.after)["z"]));
}

TEST_CASE("key templates render db, table, pk and columns") {
  EventParser parser;
  const Event& e = parser.parse(
      R"J({"binlog":"b.1:4","db":"shop","table":"user","eventType":"INSERT","pk":["id"],"after":{"id":8,"name":"a_b","x":null}})J");
  CHECK(KeyTemplate::compile("{db}_{table}_{pk}").render(e, *e.after) == "shop_user_8");
  CHECK(KeyTemplate::compile("{db}:{table}:{pk}").render(e, *e.after) == "shop:user:8");
  CHECK(KeyTemplate::compile("{{{table}}}/{col:name}/{col:x}").render(e, *e.after) == "{user}/a_b/\\N");
  CHECK(KeyTemplate::compile("{db}.{table}").uses_row() == false);
}

TEST_CASE("composite keys escape their separator so distinct rows never share a key") {
  EventParser parser;
  auto key = KeyTemplate::compile("{pk}");
  const Event& e1 = parser.parse(
      R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"INSERT","pk":["a","b"],"after":{"a":"x_y","b":"z"}})J");
  std::string k1 = key.render(e1, *e1.after);
  EventParser p2;
  const Event& e2 = p2.parse(
      R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"INSERT","pk":["a","b"],"after":{"a":"x","b":"y_z"}})J");
  std::string k2 = key.render(e2, *e2.after);
  CHECK(k1 == "x\\_y_z");
  CHECK(k2 == "x_y\\_z");
  CHECK(k1 != k2);
  EventParser p3;
  const Event& e3 = p3.parse(
      R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"INSERT","pk":["a","b"],"after":{"a":"\\","b":null}})J");
  CHECK(key.render(e3, *e3.after) == "\\\\_\\N");
}

TEST_CASE("key templates take key columns from a map when the line has none") {
  EventParser parser;
  const Event& e = parser.parse(
      R"J({"binlog":"b.1:4","db":"d","table":"t","eventType":"DELETE","before":{"id":"6","v":"x"},"after":null})J");
  auto key = KeyTemplate::compile("{db}_{table}_{pk}");
  CHECK_THROWS_WITH(key.render(e, *e.key_image()), Catch::Contains("no key columns"));
  std::vector<std::string_view> cols{"id"};
  CHECK(key.render(e, *e.key_image(), cols) == "d_t_6");
  std::vector<std::string_view> missing{"nope"};
  CHECK_THROWS_WITH(key.render(e, *e.key_image(), missing), Catch::Contains("\"nope\" missing"));
}

TEST_CASE("bad key templates are usage errors") {
  for (const char* bad : {"{db", "db}", "{nope}", "{col:}", "{}"}) {
    INFO(bad);
    try {
      KeyTemplate::compile(bad);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::kUsage);
    }
  }
}

TEST_CASE("map files give key columns, kept and renamed columns, and targets per table") {
  auto map = MapFile::parse(R"J({
    "shop.user": {"key": ["id"], "columns": {"id": true, "name": "username"}, "target": "redis://127.0.0.1:7001"},
    "shop.*": {"exclude": ["secret"]}
  })J",
                            "test.json");
  CHECK(map.size() == 2);
  const TableMap* user = map.find("shop", "user");
  REQUIRE(user != nullptr);
  CHECK(user->key == std::vector<std::string>{"id"});
  CHECK(user->output_name("name") == "username");
  CHECK(user->output_name("id") == "id");
  CHECK_FALSE(user->output_name("other"));
  CHECK(user->target == "redis://127.0.0.1:7001");
  const TableMap* other = map.find("shop", "user_roles");
  REQUIRE(other != nullptr);
  CHECK(other->pattern == "shop.*");
  CHECK_FALSE(other->output_name("secret"));
  CHECK(other->output_name("x") == "x");
  CHECK(map.find("other", "user") == nullptr);
}

TEST_CASE("map files with mistakes are configuration errors naming the entry") {
  auto rejected = [](const char* json, const char* fragment) {
    INFO(json);
    try {
      MapFile::parse(json, "m.json");
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::kConfig);
      CHECK_THAT(e.what(), Catch::Contains("m.json") && Catch::Contains(fragment));
    }
  };
  rejected("[]", "JSON object");
  rejected("{", "invalid JSON");
  rejected(R"J({"user": {}})J", "\"db.table\"");
  rejected(R"J({"a.b.c": {}})J", "\"db.table\"");
  rejected(R"J({"a.b": 1})J", "must be an object");
  rejected(R"J({"a.b": {"key": "id"}})J", "array of column names");
  rejected(R"J({"a.b": {"key": []}})J", "at least one");
  rejected(R"J({"a.b": {"columns": {"x": 1}}})J", "new name or true");
  rejected(R"J({"a.b": {"keys": ["id"]}})J", "unknown member \"keys\"");
}
