// Unit tests of jsonl-to-mongo's own parts (no server): the BSON every type rule produces (also the
// types the test server lacks: Decimal128, nested arrays, NUL bytes, -0.0), keys and names, folding a
// batch into one write per document, positions for --guard, the checkpoint document, error kinds.
#include <catch2/catch.hpp>
#include <cmath>
#include <compare>
#include <random>
#include <string>
#include <vector>

#include "../../tools/jsonl-to-mongo/batch.hpp"
#include "../../tools/jsonl-to-mongo/guard.hpp"
#include "../../tools/jsonl-to-mongo/mapper.hpp"
#include "../../tools/jsonl-to-mongo/store.hpp"
#include "../../tools/jsonl-to-mongo/values.hpp"
#include "cli/error.hpp"
#include "clients/mongo.hpp"
#include "event/ddl.hpp"
#include "event/event.hpp"
#include "event/map_file.hpp"
#include "io/checkpoint_order.hpp"

using namespace rowpipe;
using namespace rowpipe::mongo_sink;

namespace {

// One typed value appended under "v": the document, for inspection.
struct Typed {
  Bson doc;
  bson_iter_t it{};
  Typed(const std::string& type, const std::string& json, const ValueRules& rules = {}) {
    rapidjson::Document d;
    d.Parse(json.c_str());
    REQUIRE(!d.HasParseError());
    auto t = ColumnType::parse(type);
    append_value(doc.get(), "v", "v", type.empty() ? nullptr : &*t, d, rules);
    REQUIRE(bson_iter_init_find(&it, doc.get(), "v"));
  }
  bson_type_t type() const { return bson_iter_type(&it); }
};

std::string kind_of_failure(const std::string& type, const std::string& json, const ValueRules& rules = {}) {
  try {
    Typed t(type, json, rules);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kData);
    return e.what();
  }
  return "";
}

std::string decimal_text(const bson_iter_t& it) {
  bson_decimal128_t dec;
  REQUIRE(bson_iter_decimal128(&it, &dec));
  char text[BSON_DECIMAL128_STRING];
  bson_decimal128_to_string(&dec, text);
  return text;
}

std::string json_of(const Bson& b) { return bson_to_json(b.get()); }
std::string json_of(std::string_view bytes) {
  bson_t v;
  REQUIRE(bson_view(v, bytes));
  return bson_to_json(&v);
}

std::string bytes_of(const std::string& relaxed_json) {
  bson_error_t e;
  bson_t* b = bson_new_from_json(reinterpret_cast<const uint8_t*>(relaxed_json.data()),
                                 static_cast<ssize_t>(relaxed_json.size()), &e);
  REQUIRE(b != nullptr);
  std::string out(reinterpret_cast<const char*>(bson_get_data(b)), b->len);
  bson_destroy(b);
  return out;
}

Checkpoint ck(const std::string& binlog, const std::string& applied = "") {
  Checkpoint c;
  c.binlog = *Position::parse(binlog);
  if (!applied.empty()) c.applied = RowPosition::parse(applied);
  return c;
}

Config config_with(const std::string& database = "{db}", const std::string& collection = "{table}") {
  Config c;
  c.database = database;
  c.collection = collection;
  return c;
}

}  // namespace

TEST_CASE("integer types become int32 or int64 by their width, BIGINT UNSIGNED beyond int64 a Decimal128", "[mongo]") {
  CHECK(Typed("int", "-5").type() == BSON_TYPE_INT32);
  CHECK(Typed("tinyint unsigned", "255").type() == BSON_TYPE_INT32);
  CHECK(Typed("mediumint unsigned", "16777215").type() == BSON_TYPE_INT32);
  Typed iu("int unsigned", "4294967295");
  CHECK(iu.type() == BSON_TYPE_INT64);
  CHECK(bson_iter_int64(&iu.it) == 4294967295LL);
  Typed bmin("bigint", "-9223372036854775808");
  CHECK(bson_iter_int64(&bmin.it) == INT64_MIN);
  Typed bu("bigint unsigned", "9223372036854775807");
  CHECK(bu.type() == BSON_TYPE_INT64);
  Typed big("bigint unsigned", "18446744073709551615");
  REQUIRE(big.type() == BSON_TYPE_DECIMAL128);
  CHECK(decimal_text(big.it) == "18446744073709551615");
  ValueRules as_string;
  as_string.decimal = DecimalMode::kString;
  Typed bigs("bigint unsigned", "18446744073709551615", as_string);
  REQUIRE(bigs.type() == BSON_TYPE_UTF8);
  CHECK(std::string(bson_iter_utf8(&bigs.it, nullptr)) == "18446744073709551615");
}

TEST_CASE("YEAR is int32, BIT int64 (BIT(64) beyond int64 a Decimal128)", "[mongo]") {
  CHECK(Typed("year", "2024").type() == BSON_TYPE_INT32);
  Typed b("bit(3)", "5");
  CHECK(b.type() == BSON_TYPE_INT64);
  CHECK(bson_iter_int64(&b.it) == 5);
  Typed b64("bit(64)", "18446744073709551615");
  REQUIRE(b64.type() == BSON_TYPE_DECIMAL128);
  CHECK(decimal_text(b64.it) == "18446744073709551615");
}

TEST_CASE("FLOAT and DOUBLE are doubles, -0.0 keeping its sign in the BSON", "[mongo]") {
  Typed f("float", "0.1");
  REQUIRE(f.type() == BSON_TYPE_DOUBLE);
  CHECK(bson_iter_double(&f.it) == 0.1);
  Typed z("double", "-0.0");
  CHECK(std::signbit(bson_iter_double(&z.it)));
  Typed big("double", "1.5e300");
  CHECK(bson_iter_double(&big.it) == 1.5e300);
}

TEST_CASE("DECIMAL is a Decimal128 keeping its scale, or its text with --decimal string", "[mongo]") {
  Typed d("decimal(10,2)", "\"12.50\"");
  REQUIRE(d.type() == BSON_TYPE_DECIMAL128);
  CHECK(decimal_text(d.it) == "12.50");
  Typed n("decimal(10,2)", "\"-0.05\"");
  CHECK(decimal_text(n.it) == "-0.05");
  ValueRules s;
  s.decimal = DecimalMode::kString;
  Typed t("decimal(10,2)", "\"12.50\"", s);
  CHECK(t.type() == BSON_TYPE_UTF8);
  CHECK(kind_of_failure("decimal(65,0)", "\"12345678901234567890123456789012345678901234567890\"")
            .find("--decimal string") != std::string::npos);
  CHECK(kind_of_failure("decimal(10,2)", "12.5").find("needs a string") != std::string::npos);
}

TEST_CASE("a server without Decimal128 makes such a value a data error that names the way out", "[mongo]") {
  ValueRules r;
  r.lacks_decimal128 = "FerretDB v1.24.2";
  std::string why = kind_of_failure("decimal(10,2)", "\"1.00\"", r);
  CHECK(why.find("FerretDB v1.24.2") != std::string::npos);
  CHECK(why.find("--decimal string") != std::string::npos);
  r.decimal = DecimalMode::kString;
  CHECK(Typed("decimal(10,2)", "\"1.00\"", r).type() == BSON_TYPE_UTF8);
}

TEST_CASE("DATETIME and TIMESTAMP of 3 fraction digits or fewer are UTC dates, finer ones strings", "[mongo]") {
  Typed d0("datetime(0)", "\"2016-08-22 09:47:25\"");
  REQUIRE(d0.type() == BSON_TYPE_DATE_TIME);
  CHECK(bson_iter_date_time(&d0.it) == 1471859245000LL);
  Typed d3("timestamp(3)", "\"2016-08-22 09:47:25.123\"");
  CHECK(bson_iter_date_time(&d3.it) == 1471859245123LL);
  Typed d6("datetime(6)", "\"2016-08-22 09:47:25.123456\"");
  REQUIRE(d6.type() == BSON_TYPE_UTF8);
  CHECK(std::string(bson_iter_utf8(&d6.it, nullptr)) == "2016-08-22 09:47:25.123456");
  Typed old("datetime(0)", "\"1000-01-01 00:00:00\"");
  CHECK(bson_iter_date_time(&old.it) == -30610224000000LL);
}

TEST_CASE("--datetime forces dates (fractions cut to milliseconds) or strings", "[mongo]") {
  ValueRules date;
  date.datetime = DatetimeMode::kDate;
  Typed d6("datetime(6)", "\"2016-08-22 09:47:25.123999\"", date);
  REQUIRE(d6.type() == BSON_TYPE_DATE_TIME);
  CHECK(bson_iter_date_time(&d6.it) == 1471859245123LL);
  ValueRules str;
  str.datetime = DatetimeMode::kString;
  CHECK(Typed("datetime(0)", "\"2016-08-22 09:47:25\"", str).type() == BSON_TYPE_UTF8);
}

TEST_CASE("zero dates and impossible dates stay strings, even with --datetime date", "[mongo]") {
  ValueRules date;
  date.datetime = DatetimeMode::kDate;
  for (const char* v :
       {"\"0000-00-00 00:00:00\"", "\"2021-02-29 00:00:00\"", "\"2020-04-31 10:00:00\"", "\"2020-01-00 10:00:00\""}) {
    Typed t("datetime(0)", v, date);
    CHECK(t.type() == BSON_TYPE_UTF8);
  }
  CHECK(datetime_millis("2020-02-29 00:00:00").has_value());
  CHECK(datetime_millis("1970-01-01 00:00:00.5") == 500);
  CHECK(!datetime_millis("1970-01-01T00:00:00").has_value());
  CHECK(!datetime_millis("1970-01-01 24:00:00").has_value());
}

TEST_CASE("DATE, TIME, CHAR, TEXT, ENUM and GEOMETRY are strings; NUL bytes in text are kept", "[mongo]") {
  for (const char* type : {"date", "time(0)", "char", "varchar", "text", "enum", "geometry"}) {
    INFO(type);
    CHECK(Typed(type, "\"x\"").type() == BSON_TYPE_UTF8);
  }
  Typed nul("varchar", "\"a\\u0000b\"");
  uint32_t len = 0;
  const char* s = bson_iter_utf8(&nul.it, &len);
  CHECK(std::string(s, len) == std::string("a\0b", 3));
  Typed labels_unknown("enum", "2");
  CHECK(labels_unknown.type() == BSON_TYPE_INT32);
}

TEST_CASE("SET is an array of its labels, the empty set an empty array", "[mongo]") {
  Typed s("set", "\"a,b,c\"");
  REQUIRE(s.type() == BSON_TYPE_ARRAY);
  CHECK(bson_to_json(s.doc.get()) == R"({ "v" : [ "a", "b", "c" ] })");
  Typed e("set", "\"\"");
  CHECK(bson_to_json(e.doc.get()) == R"({ "v" : [  ] })");
}

TEST_CASE("binary columns are BSON binary (subtype 0) decoded from base64", "[mongo]") {
  Typed b("varbinary", "\"AAEC/w==\"");
  REQUIRE(b.type() == BSON_TYPE_BINARY);
  bson_subtype_t sub;
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_binary(&b.it, &sub, &len, &data);
  CHECK(sub == BSON_SUBTYPE_BINARY);
  CHECK(std::string(reinterpret_cast<const char*>(data), len) == std::string("\0\1\2\xff", 4));
  CHECK(kind_of_failure("blob", "\"not base64!\"").find("base64") != std::string::npos);
}

TEST_CASE("MySQL JSON is embedded: objects as documents, arrays (nested too) as arrays, numbers typed", "[mongo]") {
  Typed j("json", R"({"a":[1,[2,3]],"b":{"c":2.5,"d":null,"e":true},"f":9223372036854775807})");
  CHECK(bson_to_json(j.doc.get()) ==
        R"({ "v" : { "a" : [ { "$numberInt" : "1" }, [ { "$numberInt" : "2" }, { "$numberInt" : "3" } ] ], )"
        R"("b" : { "c" : { "$numberDouble" : "2.5" }, "d" : null, "e" : true }, "f" : { "$numberLong" : )"
        R"("9223372036854775807" } } })");
  CHECK(Typed("json", "\"text\"").type() == BSON_TYPE_UTF8);
  CHECK(kind_of_failure("json", R"({"k\u0000":1})").find("NUL") != std::string::npos);
}

TEST_CASE("VECTOR is an array of doubles; NULL is null", "[mongo]") {
  Typed v("vector", "[1,2.5]");
  CHECK(bson_to_json(v.doc.get()) == R"({ "v" : [ { "$numberDouble" : "1.0" }, { "$numberDouble" : "2.5" } ] })");
  CHECK(Typed("int", "null").type() == BSON_TYPE_NULL);
}

TEST_CASE("untyped values (seed lines) keep their JSON type", "[mongo]") {
  CHECK(Typed("", "\"9\"").type() == BSON_TYPE_UTF8);
  CHECK(Typed("", "7").type() == BSON_TYPE_INT32);
  CHECK(Typed("", "8589934592").type() == BSON_TYPE_INT64);
  CHECK(Typed("", "1.5").type() == BSON_TYPE_DOUBLE);
  CHECK(Typed("", "true").type() == BSON_TYPE_BOOL);
}

TEST_CASE("a value that does not fit its type is a data error naming the column and the type", "[mongo]") {
  std::string why = kind_of_failure("int", "\"abc\"");
  CHECK(why.find("column \"v\"") != std::string::npos);
  CHECK(why.find("int") != std::string::npos);
  CHECK(!kind_of_failure("int", "3000000000").empty());
  CHECK(!kind_of_failure("bigint unsigned", "-1").empty());
  CHECK(!kind_of_failure("int", "1.5").empty());
  CHECK(!kind_of_failure("datetime(0)", "5").empty());
}

TEST_CASE("the _id is the key column's typed value, a sub-document of the key columns in key order", "[mongo]") {
  Config c = config_with();
  Mapper m(c, nullptr, {});
  EventParser p;
  const Event& e = p.parse(
      R"({"binlog":"f.000001:4","row":0,"db":"d","table":"t","eventType":"INSERT","pk":["b","a"],)"
      R"j("types":{"a":"int","b":"varchar","c":"datetime(0)"},"after":{"a":1,"b":"x","c":"2020-01-01 00:00:00"}})j");
  TableInfo& t = m.table("d", "t");
  Bson key, doc;
  m.key(key, e, t, *e.after);
  CHECK(json_of(key) == R"({ "_id" : { "b" : "x", "a" : { "$numberInt" : "1" } } })");
  m.document(doc, e, t, *e.after, key);
  CHECK(json_of(doc) ==
        R"({ "_id" : { "b" : "x", "a" : { "$numberInt" : "1" } }, "a" : { "$numberInt" : "1" }, "b" : "x", )"
        R"("c" : { "$date" : { "$numberLong" : "1577836800000" } } })");
  const Event& one = p.parse(R"({"binlog":"f.000001:4","row":0,"db":"d","table":"t","eventType":"INSERT",)"
                             R"("pk":["id"],"types":{"id":"bigint"},"after":{"id":5}})");
  m.key(key, one, m.table("d", "t"), *one.after);
  CHECK(json_of(key) == R"({ "_id" : { "$numberLong" : "5" } })");
}

TEST_CASE("a table without key columns needs a map entry; the map's key, renames and drops apply", "[mongo]") {
  Config c = config_with();
  EventParser p;
  const Event& e = p.parse(R"({"binlog":"f.000001:4","db":"kelin_test","table":"user","eventType":"INSERT",)"
                           R"("before":"","after":{"id":"9","img":"a","sex":"0"}})");
  Mapper bare(c, nullptr, {});
  Bson key, doc;
  try {
    bare.key(key, e, bare.table("kelin_test", "user"), *e.after);
    FAIL("no key columns accepted");
  } catch (const Error& err) {
    CHECK(err.kind() == ErrorKind::kData);
    CHECK(std::string(err.what()).find("kelin_test.user has no key columns") != std::string::npos);
  }
  MapFile map =
      MapFile::parse(R"({"kelin_test.user": {"key": ["id"], "columns": {"id": true, "img": "image"}}})", "test");
  Mapper mapped(c, &map, {});
  TableInfo& t = mapped.table("kelin_test", "user");
  mapped.key(key, e, t, *e.after);
  mapped.document(doc, e, t, *e.after, key);
  CHECK(json_of(doc) == R"({ "_id" : "9", "id" : "9", "image" : "a" })");
}

TEST_CASE("a column named _id that is the key is the document's _id; any other is refused", "[mongo]") {
  Config c = config_with();
  Mapper m(c, nullptr, {});
  EventParser p;
  const Event& e = p.parse(R"({"binlog":"f.000001:4","row":0,"db":"d","table":"t","eventType":"INSERT",)"
                           R"("pk":["_id"],"after":{"_id":3,"v":1}})");
  Bson key, doc;
  m.key(key, e, m.table("d", "t"), *e.after);
  m.document(doc, e, m.table("d", "t"), *e.after, key);
  CHECK(json_of(doc) == R"({ "_id" : { "$numberInt" : "3" }, "v" : { "$numberInt" : "1" } })");
  const Event& other = p.parse(R"({"binlog":"f.000001:4","row":0,"db":"d","table":"u","eventType":"INSERT",)"
                               R"("pk":["id"],"after":{"id":3,"_id":1}})");
  m.key(key, other, m.table("d", "u"), *other.after);
  CHECK_THROWS_AS(m.document(doc, other, m.table("d", "u"), *other.after, key), Error);
}

TEST_CASE("names come from the templates; a name MongoDB refuses is a data error", "[mongo]") {
  Config c = config_with("{db}_archive", "{table}");
  Mapper m(c, nullptr, {});
  EventParser p;
  const Event& e = p.parse(R"({"binlog":"f.000001:4","row":0,"db":"shop","table":"orders","eventType":"INSERT",)"
                           R"("pk":["id"],"after":{"id":1}})");
  TableInfo& t = m.table("shop", "orders");
  uint32_t id = m.target(e, t, *e.after);
  CHECK(m.targets().get(id).ns() == "shop_archive.orders");
  CHECK(t.owns_target);
  CHECK_THROWS_AS(check_names("a.b", "c"), Error);
  CHECK_THROWS_AS(check_names("a", "x$y"), Error);
  CHECK_THROWS_AS(check_names("a", "system.users"), Error);
  CHECK_THROWS_AS(check_names("", "c"), Error);
  CHECK_NOTHROW(check_names("a", "b.c"));
  Config shared = config_with("all", "rows");
  Mapper s(shared, nullptr, {});
  TableInfo& st = s.table("shop", "orders");
  s.target(e, st, *e.after);
  CHECK(!st.owns_target);  // TRUNCATE must not empty a collection other tables share
}

TEST_CASE("a batch folds into one write per document: the last state wins", "[mongo]") {
  Batch b;
  auto k = [](int id) { return bytes_of("{\"_id\": " + std::to_string(id) + "}"); };
  auto d = [](int id, const std::string& v) {
    return bytes_of("{\"_id\": " + std::to_string(id) + ", \"v\": \"" + v + "\"}");
  };
  b.add_line("l1", "in:1");
  b.add(OpKind::kInsert, 0, k(1), d(1, "a"));
  b.add_line("l2", "in:2");
  b.add(OpKind::kReplace, 0, k(1), d(1, "b"));  // INSERT then UPDATE: still an insert
  b.add_line("l3", "in:3");
  b.add(OpKind::kReplace, 0, k(2), d(2, "x"));
  b.add_line("l4", "in:4");
  b.add(OpKind::kDelete, 0, k(2), {});  // UPDATE then DELETE: a delete
  b.add_line("l5", "in:5");
  b.add(OpKind::kDelete, 0, k(3), {});
  b.add_line("l6", "in:6");
  b.add(OpKind::kInsert, 0, k(3), d(3, "again"));  // DELETE then INSERT: a replacement
  b.add_line("l7", "in:7");
  b.add(OpKind::kSet, 0, k(4), bytes_of(R"({"v": 1})"));
  b.add_line("l8", "in:8");
  b.add(OpKind::kSet, 0, k(4), bytes_of(R"({"w": 2, "v": 3})"));  // $set over $set: merged
  b.add_line("l9", "in:9");
  b.add(OpKind::kSet, 0, k(1), bytes_of(R"({"z": true})"));  // $set over a whole document: still whole
  b.add_line("l10", "in:10");
  b.add(OpKind::kSet, 1, k(1), bytes_of(R"({"q": 1})"));  // same _id, other collection
  Plan plan;
  plan.build(b, 0, b.ops().size());
  const auto& w = plan.writes();
  REQUIRE(w.size() == 5);
  CHECK(w[0].kind == OpKind::kInsert);
  CHECK(json_of(w[0].doc) == R"({ "_id" : { "$numberInt" : "1" }, "v" : "b", "z" : true })");
  CHECK(w[0].first_line == 0);
  CHECK(w[0].last_line == 8);
  CHECK(w[1].kind == OpKind::kDelete);
  CHECK(w[2].kind == OpKind::kReplace);
  CHECK(json_of(w[2].doc) == R"({ "_id" : { "$numberInt" : "3" }, "v" : "again" })");
  CHECK(w[3].kind == OpKind::kSet);
  CHECK(json_of(w[3].doc) == R"({ "v" : { "$numberInt" : "3" }, "w" : { "$numberInt" : "2" } })");
  CHECK(w[4].target == 1);
  CHECK(b.text(3) == "l4");
  CHECK(b.where(3) == "in:4");
}

TEST_CASE("TRUNCATE in a batch voids earlier writes to its collection; later ones are inserts", "[mongo]") {
  Batch b;
  auto k = [](int id) { return bytes_of("{\"_id\": " + std::to_string(id) + "}"); };
  b.add_line("a", "in:1");
  b.add(OpKind::kReplace, 0, k(1), bytes_of(R"({"_id": 1, "v": 1})"));
  b.add(OpKind::kReplace, 1, k(1), bytes_of(R"({"_id": 1, "v": 1})"));
  b.add_line("t", "in:2");
  b.add(OpKind::kClear, 0, {}, {});
  b.add_line("c", "in:3");
  b.add(OpKind::kSet, 0, k(2), bytes_of(R"({"v": 2})"));
  b.add(OpKind::kReplace, 0, k(1), bytes_of(R"({"_id": 1, "v": 9})"));
  Plan plan;
  plan.build(b, 0, b.ops().size());
  REQUIRE(plan.cleared() == std::vector<uint32_t>{0});
  REQUIRE(plan.writes().size() == 3);
  CHECK(plan.writes()[0].target == 1);
  CHECK(plan.writes()[1].kind == OpKind::kInsert);
  CHECK(json_of(plan.writes()[1].doc) == R"({ "_id" : { "$numberInt" : "2" }, "v" : { "$numberInt" : "2" } })");
  CHECK(plan.writes()[2].kind == OpKind::kInsert);
}

TEST_CASE("dropping the applied part of a batch keeps the open transaction's writes intact", "[mongo]") {
  Batch b;
  b.add_line("first", "in:1", 1);
  b.add(OpKind::kReplace, 0, bytes_of(R"({"_id": 1})"), bytes_of(R"({"_id": 1, "v": 1})"));
  Batch::Mark m = b.mark();
  b.add_line("second", "in:2", 2);
  b.add(OpKind::kDelete, 3, bytes_of(R"({"_id": 2})"), {});
  b.drop_before(m);
  REQUIRE(b.ops().size() == 1);
  CHECK(b.lines() == 1);
  CHECK(b.text(0) == "second");
  CHECK(b.where(b.ops()[0].line) == "in:2");
  CHECK(b.number(b.ops()[0].line) == 2);  // what --ack counts up to
  CHECK(b.ops()[0].target == 3);
  CHECK(json_of(b.key(b.ops()[0])) == R"({ "_id" : { "$numberInt" : "2" } })");
}

TEST_CASE("merging fields replaces keys in place and appends new ones", "[mongo]") {
  std::string merged = merge_fields(bytes_of(R"({"_id": 1, "a": 1, "b": 2})"), bytes_of(R"({"b": "x", "c": null})"));
  CHECK(json_of(merged) ==
        R"({ "_id" : { "$numberInt" : "1" }, "a" : { "$numberInt" : "1" }, "b" : "x", "c" : null })");
  std::string made = document_from_fields(bytes_of(R"({"_id": {"a": 1}})"), bytes_of(R"({"v": 2})"));
  CHECK(json_of(made) == R"({ "_id" : { "a" : { "$numberInt" : "1" } }, "v" : { "$numberInt" : "2" } })");
}

TEST_CASE("encoded positions sort as the positions do", "[mongo]") {
  CHECK(encode_position(*RowPosition::parse("mysql-bin.000052:754:0")) == "b52:c754:a0");
  std::mt19937_64 rnd(7);
  std::vector<RowPosition> all;
  for (int i = 0; i < 400; ++i) {
    uint64_t seq = rnd() % 3 == 0 ? rnd() % 10 : rnd() % 2000000;
    uint64_t off = rnd() % 4 == 0 ? rnd() : rnd() % 100000;
    char name[32];
    std::snprintf(name, sizeof name, "mysql-bin.%06llu", static_cast<unsigned long long>(seq));
    all.push_back(RowPosition{Position{name, off}, rnd() % 3 == 0 ? rnd() : rnd() % 50});
  }
  for (size_t i = 0; i + 1 < all.size(); ++i) {
    const RowPosition& a = all[i];
    const RowPosition& b = all[i + 1];
    INFO(a.str() << " vs " << b.str());
    CHECK(std::is_lt(a <=> b) == (encode_position(a) < encode_position(b)));
    CHECK(std::is_eq(a <=> b) == (encode_position(a) == encode_position(b)));
  }
}

TEST_CASE("the checkpoint document round-trips and orders like the file checkpoints", "[mongo]") {
  Checkpoint c = ck("mysql-bin.000009:1890", "mysql-bin.000009:5021:8191");
  c.server_id = 1;
  c.gtid = "0-1-42";
  Bson doc;
  checkpoint_document(doc, "default", c);
  Checkpoint back = parse_checkpoint_document(doc.get(), "test");
  CHECK(back.to_json() == c.to_json());
  bson_iter_t it;
  REQUIRE(bson_iter_init_find(&it, doc.get(), "_id"));
  CHECK(std::string(bson_iter_utf8(&it, nullptr)) == "default");
  CHECK(std::is_gt(compare_checkpoints(ck("f.000002:4"), ck("f.000001:900"))));
  CHECK(std::is_lt(compare_checkpoints(ck("f.000001:4"), ck("f.000001:4", "f.000001:4:3"))));
  CHECK(std::is_lt(compare_checkpoints(ck("f.000001:4", "f.000001:4:3"), ck("f.000001:4", "f.000001:9:0"))));
  Bson bad;
  BSON_APPEND_UTF8(bad.get(), "_id", "default");
  try {
    parse_checkpoint_document(bad.get(), "MongoDB rowpipe.rowpipe_checkpoints");
    FAIL("a document without binlog accepted");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kConfig);
  }
}

TEST_CASE("TRUNCATE and DROP TABLE are told from other DDL, comments and case aside", "[mongo]") {
  CHECK(classify_ddl("TRUNCATE TABLE `t`") == DdlKind::kTruncate);
  CHECK(classify_ddl("/* x */ truncate t") == DdlKind::kTruncate);
  CHECK(classify_ddl("DROP TEMPORARY TABLE IF EXISTS t") == DdlKind::kDrop);
  CHECK(classify_ddl("drop table a, b") == DdlKind::kDrop);
  CHECK(classify_ddl("DROP DATABASE d") == DdlKind::kOther);
  CHECK(classify_ddl("TRUNCATEX t") == DdlKind::kOther);
  CHECK(classify_ddl("ALTER TABLE t ADD c INT") == DdlKind::kOther);
}

TEST_CASE("libmongoc errors map onto the error kinds by what the caller should do", "[mongo]") {
  bson_error_t e{};
  e.domain = MONGOC_ERROR_STREAM;
  CHECK(mongo_error_kind(e) == ErrorKind::kUnavailable);
  e.domain = MONGOC_ERROR_SERVER_SELECTION;
  CHECK(mongo_error_kind(e) == ErrorKind::kUnavailable);
  e.domain = MONGOC_ERROR_CLIENT;
  e.code = MONGOC_ERROR_CLIENT_AUTHENTICATE;
  CHECK(mongo_error_kind(e) == ErrorKind::kPermission);
  e.domain = MONGOC_ERROR_SERVER;
  e.code = 11600;  // InterruptedAtShutdown
  CHECK(mongo_error_kind(e) == ErrorKind::kUnavailable);
  e.code = 2;  // BadValue
  CHECK(mongo_error_kind(e) == ErrorKind::kData);
  e.code = 13;  // Unauthorized
  CHECK(mongo_error_kind(e) == ErrorKind::kPermission);
  e.code = 59;  // CommandNotFound
  CHECK(mongo_error_kind(e) == ErrorKind::kConfig);
  CHECK(mongo_server_error_kind(10107) == ErrorKind::kUnavailable);
  CHECK(mongo_server_error_kind(17419) == ErrorKind::kData);
}
