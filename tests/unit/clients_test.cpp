// Unit tests of the client layer without servers: URLs, redaction, passwords, error mapping, WKB -> WKT,
// and the SQL converter's type words on synthetic result metadata.
#include <unistd.h>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

#include "cli/error.hpp"
#include "clients/mysql.hpp"
#include "clients/redis.hpp"
#include "clients/url.hpp"
#include "event/geometry.hpp"
#include "sql/converter.hpp"

using namespace rowpipe;

namespace {

// Expects `text` to be rejected as a usage error whose message holds `fragment` and never `secret`.
void require_bad_url(const std::string& text, const std::string& fragment, const std::string& secret = "") {
  INFO("url: " << text);
  try {
    parse_url(text);
    FAIL("accepted a malformed URL");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kUsage);
    CHECK_THAT(e.what(), Catch::Contains(fragment));
    if (!secret.empty()) CHECK_THAT(e.what(), !Catch::Contains(secret));
  }
}

// Sets an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A temporary file holding `content`, removed at scope exit.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/rowpipe-clients-test.XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    close(fd);
    path_ = tmpl;
  }
  ~TempFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

// WKB builder for vectors the server cannot produce (big-endian, nesting, malformed).
struct Wkb {
  std::string bytes;
  bool little = true;

  Wkb& u8(uint8_t v) {
    bytes += static_cast<char>(v);
    return *this;
  }
  Wkb& u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes += static_cast<char>(little ? v >> (8 * i) : v >> (8 * (3 - i)));
    return *this;
  }
  Wkb& f64(double d) {
    uint64_t v;
    std::memcpy(&v, &d, 8);
    for (int i = 0; i < 8; ++i) bytes += static_cast<char>(little ? v >> (8 * i) : v >> (8 * (7 - i)));
    return *this;
  }
  Wkb& header(bool le, uint32_t type) {
    little = le;
    return u8(le ? 1 : 0).u32(type);
  }
  Wkb& point(bool le, double x, double y) { return header(le, 1).f64(x).f64(y); }
};

std::string wkt(std::string_view mysql_value) {
  std::string out;
  append_wkt(out, mysql_value);
  return out;
}

std::string wkt_of_wkb(std::string_view wkb) {
  std::string out;
  append_wkt_from_wkb(out, wkb);
  return out;
}

MYSQL_FIELD field(enum_field_types type, unsigned long length = 0, unsigned flags = 0, unsigned charsetnr = 45,
                  unsigned decimals = 0) {
  MYSQL_FIELD f{};
  static char name[] = "c";
  f.name = name;
  f.name_length = 1;
  f.type = type;
  f.length = length;
  f.flags = flags;
  f.charsetnr = charsetnr;
  f.decimals = decimals;
  return f;
}

std::string word(const MYSQL_FIELD& f) { return column_type_of(f).word(); }

}  // namespace

TEST_CASE("a mysql URL yields user, decoded password, host, port, database and ordered parameters") {
  Url u = parse_url("mysql://repl:p%40ss%2Fw%3Ard@db.example:3307/shop?ssl-mode=REQUIRED&b=2&a=1");
  CHECK(u.scheme == Scheme::kMysql);
  CHECK(u.user == "repl");
  REQUIRE(u.password);
  CHECK(*u.password == "p@ss/w:rd");
  REQUIRE(u.hosts.size() == 1);
  CHECK(u.host().host == "db.example");
  CHECK(u.host().port == 3307);
  CHECK(u.path == "shop");
  REQUIRE(u.query.size() == 3);
  CHECK(u.query[0].first == "ssl-mode");
  CHECK(u.query[1].first == "b");
  CHECK(u.query[2].first == "a");
  CHECK(u.param("a") == std::optional<std::string_view>("1"));
  CHECK_FALSE(u.param("missing"));
  CHECK(u.raw == "mysql://repl:p%40ss%2Fw%3Ard@db.example:3307/shop?ssl-mode=REQUIRED&b=2&a=1");
}

TEST_CASE("each scheme has its default port and password variable") {
  CHECK(parse_url("mysql://root@h").host().port == 3306);
  CHECK(parse_url("redis://h").host().port == 6379);
  CHECK(parse_url("amqp://guest@h/").host().port == 5672);
  CHECK(parse_url("kafka://h/topic").host().port == 9092);
  CHECK(parse_url("mongodb://h").host().port == 27017);
  CHECK(std::string(password_env_var(Scheme::kMysql)) == "MYSQL_PWD");
  CHECK(std::string(password_env_var(Scheme::kRedis)) == "REDIS_PASSWORD");
  CHECK(std::string(password_env_var(Scheme::kAmqp)) == "AMQP_PASSWORD");
  CHECK(std::string(password_env_var(Scheme::kKafka)) == "KAFKA_PASSWORD");
  CHECK(std::string(password_env_var(Scheme::kMongodb)) == "MONGO_PASSWORD");
}

TEST_CASE("a user without a colon has no password while user-colon has an empty one") {
  CHECK_FALSE(parse_url("mysql://root@h").password);
  Url empty = parse_url("mysql://root:@h");
  REQUIRE(empty.password);
  CHECK(empty.password->empty());
  Url redis = parse_url("redis://:secret@h:7000/2");
  CHECK(redis.user.empty());
  CHECK(*redis.password == "secret");
  CHECK(redis.path == "2");
}

TEST_CASE("IPv6 literals are written in brackets and stored without them") {
  Url u = parse_url("mysql://root@[::1]:3310/db");
  CHECK(u.host().host == "::1");
  CHECK(u.host().port == 3310);
  CHECK(u.host().str() == "[::1]:3310");
  CHECK(parse_url("redis://[fe80::1%25eth0]").host().host == "fe80::1%eth0");
  CHECK(parse_url("redis://[::1]").host().port == 6379);
}

TEST_CASE("kafka and mongodb URLs take host lists and mongodb keeps its raw text") {
  Url k = parse_url("kafka://b1:9092,b2,[::1]:9094/events");
  REQUIRE(k.hosts.size() == 3);
  CHECK(k.hosts[1].host == "b2");
  CHECK(k.hosts[1].port == 9092);
  CHECK(k.host_list() == "b1:9092,b2:9092,[::1]:9094");
  CHECK(k.path == "events");
  Url m = parse_url("mongodb://app:pw@m1:27017,m2:27018/shop?replicaSet=rs0&authSource=admin");
  CHECK(m.hosts.size() == 2);
  CHECK(m.raw == "mongodb://app:pw@m1:27017,m2:27018/shop?replicaSet=rs0&authSource=admin");
  CHECK(m.param("replicaSet") == std::optional<std::string_view>("rs0"));
  Url srv = parse_url("mongodb+srv://app:pw@cluster.example/shop");
  CHECK(srv.scheme == Scheme::kMongodb);
  CHECK(srv.srv);
  CHECK(srv.redacted() == "mongodb+srv://app:***@cluster.example/shop");
}

TEST_CASE("an amqp URL decodes its vhost and keeps exchange, routing key and queue parameters") {
  Url u = parse_url("AMQP://guest:guest@localhost/%2F?exchange=rows&routing_key=db.t&queue=q1");
  CHECK(u.scheme == Scheme::kAmqp);
  CHECK(u.has_path);
  CHECK(u.path == "/");
  CHECK(u.param("exchange") == std::optional<std::string_view>("rows"));
  CHECK(u.param("routing_key") == std::optional<std::string_view>("db.t"));
  CHECK(u.param("queue") == std::optional<std::string_view>("q1"));
  Url no_path = parse_url("amqp://guest@localhost");
  CHECK_FALSE(no_path.has_path);
  Url empty_vhost = parse_url("amqp://guest@localhost/");
  CHECK(empty_vhost.has_path);
  CHECK(empty_vhost.path.empty());
}

TEST_CASE("malformed URLs are usage errors that never show the password") {
  require_bad_url("localhost:3306", "SCHEME://");
  require_bad_url("postgres://u:topsecret@h", "unknown scheme", "topsecret");
  require_bad_url("mysql://u:topsecret@h:99999", "invalid port", "topsecret");
  require_bad_url("mysql://u:topsecret@h:", "invalid port", "topsecret");
  require_bad_url("mysql://u:topsecret@", "no host", "topsecret");
  require_bad_url("mysql://u:topsecret@::1:3306", "brackets", "topsecret");
  require_bad_url("mysql://u:topsecret@[::1", "unterminated", "topsecret");
  require_bad_url("mysql://u:topsecret@a,b", "one host", "topsecret");
  require_bad_url("mysql://u:top%zzsecret@h", "%-escape", "top%zzsecret");
  require_bad_url("redis://:topsecret@h/zero", "must be a number", "topsecret");
  require_bad_url("mysql://u:topsecret@h/db#frag", "fragment", "topsecret");
  // An unencoded '/' in the password ends the authority early: caught, and the password stays hidden.
  require_bad_url("mysql://u:top/secret@h/db", "", "secret");
  require_bad_url("mysql://u:123/456@h/db", "'@' in the path", "456");
}

TEST_CASE("redacted URLs hide passwords in the userinfo and in password parameters") {
  CHECK(parse_url("mysql://repl:pw@h:3306/db?ssl-mode=REQUIRED").redacted() ==
        "mysql://repl:***@h:3306/db?ssl-mode=REQUIRED");
  CHECK(parse_url("mysql://repl@h").redacted() == "mysql://repl@h:3306");
  CHECK(parse_url("redis://:pw@[::1]:6380/1").redacted() == "redis://:***@[::1]:6380/1");
  CHECK(parse_url("kafka://u:pw@b1,b2/t?sasl.password=x&acks=all").redacted() ==
        "kafka://u:***@b1:9092,b2:9092/t?sasl.password=***&acks=all");
  CHECK(parse_url("amqp://guest:pw@h/%2F?exchange=e").redacted() == "amqp://guest:***@h:5672/%2F?exchange=e");
  CHECK(redact_url_text("mysql://u:top/secret@h/db") == "mysql://u:***@h/db");
  CHECK(redact_url_text("mysql://u@h/db") == "mysql://u@h/db");
  CHECK(redact_url_text("not a url") == "not a url");
}

TEST_CASE("percent-decoding keeps plus signs and rejects short or non-hex escapes") {
  CHECK(percent_decode("a%20b+c%2f") == std::optional<std::string>("a b+c/"));
  CHECK(percent_decode("%00") == std::optional<std::string>(std::string(1, '\0')));
  CHECK_FALSE(percent_decode("%"));
  CHECK_FALSE(percent_decode("%4"));
  CHECK_FALSE(percent_decode("%g0"));
}

TEST_CASE("the password comes from the URL, else the password file, else the environment") {
  TempFile file("from-file\n");
  Url with = parse_url("mysql://u:from-url@h");
  Url without = parse_url("mysql://u@h");
  {
    ScopedEnv env("MYSQL_PWD", "from-env");
    CHECK(resolve_password(with, file.path()) == std::optional<std::string>("from-url"));
    CHECK(resolve_password(without, file.path()) == std::optional<std::string>("from-file"));
    CHECK(resolve_password(without) == std::optional<std::string>("from-env"));
  }
  {
    ScopedEnv env("MYSQL_PWD", nullptr);
    CHECK(resolve_password(without, file.path()) == std::optional<std::string>("from-file"));
    CHECK_FALSE(resolve_password(without));
    CHECK_THROWS_AS(resolve_password(without, "/nonexistent/pw"), Error);
  }
  {
    ScopedEnv env("REDIS_PASSWORD", "redis-env");
    CHECK(resolve_password(parse_url("redis://h")) == std::optional<std::string>("redis-env"));
  }
}

TEST_CASE("a URL argument starting with @ is read from that file, trimmed") {
  CHECK(resolve_url_argument("mysql://root@h") == "mysql://root@h");
  TempFile file("  mysql://u:pw@h:3306/db\n\n");
  CHECK(resolve_url_argument("@" + file.path()) == "mysql://u:pw@h:3306/db");
  TempFile blank(" \n");
  try {
    resolve_url_argument("@" + blank.path());
    FAIL("accepted an empty URL file");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kConfig);
  }
  try {
    resolve_url_argument("@/nonexistent/url");
    FAIL("accepted a missing URL file");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kConfig);
    CHECK_THAT(e.what(), Catch::Contains("/nonexistent/url"));
  }
  CHECK_THROWS_AS(resolve_url_argument("@"), Error);
}

TEST_CASE("MySQL error codes map to what the caller should do next") {
  CHECK(mysql_error_kind(1045) == ErrorKind::kPermission);  // access denied
  CHECK(mysql_error_kind(1044) == ErrorKind::kPermission);
  CHECK(mysql_error_kind(1227) == ErrorKind::kPermission);
  CHECK(mysql_error_kind(2002) == ErrorKind::kUnavailable);  // cannot connect (socket)
  CHECK(mysql_error_kind(2003) == ErrorKind::kUnavailable);  // cannot connect (TCP)
  CHECK(mysql_error_kind(2006) == ErrorKind::kUnavailable);  // server gone
  CHECK(mysql_error_kind(2013) == ErrorKind::kUnavailable);  // lost during query
  CHECK(mysql_error_kind(1040) == ErrorKind::kUnavailable);  // too many connections
  CHECK(mysql_error_kind(1213) == ErrorKind::kUnavailable);  // deadlock
  CHECK(mysql_error_kind(1146) == ErrorKind::kConfig);       // no such table
  CHECK(mysql_error_kind(1064) == ErrorKind::kConfig);       // syntax
  CHECK(mysql_error_kind(2026) == ErrorKind::kConfig);       // TLS
  CHECK(mysql_error_kind(2027) == ErrorKind::kProtocol);     // malformed packet
  CHECK(mysql_error_kind(5013) == ErrorKind::kUnavailable);  // net read
  CHECK(mysql_error_kind(5021) == ErrorKind::kProtocol);     // binlog error
}

TEST_CASE("Redis error replies map by their prefix") {
  CHECK(redis_error_kind("NOAUTH Authentication required.") == ErrorKind::kPermission);
  CHECK(redis_error_kind("WRONGPASS invalid username-password pair") == ErrorKind::kPermission);
  CHECK(redis_error_kind("LOADING Redis is loading the dataset in memory") == ErrorKind::kUnavailable);
  CHECK(redis_error_kind("READONLY You can't write against a read only replica.") == ErrorKind::kUnavailable);
  CHECK(redis_error_kind("MOVED 3999 127.0.0.1:6381") == ErrorKind::kConfig);
  CHECK(redis_error_kind("WRONGTYPE Operation against a key holding the wrong kind of value") == ErrorKind::kData);
  CHECK(redis_error_kind("ERR unknown command") == ErrorKind::kData);
}

TEST_CASE("geometry values from the server render as WKT") {
  // Hex of ST_GeomFromText(..., 4326) from MariaDB 10.11: SRID 4326 little-endian, then WKB.
  CHECK(wkt(unhex("E61000000101000000000000000000F03F0000000000000040")) == "POINT(1 2)");
  CHECK(wkt(unhex("E61000000101000000000000000000E0BF9C7500883CE4377E")) == "POINT(-0.5 1e+300)");
  CHECK(wkt(unhex("E610000001020000000300000000000000000000000000000000000000000000000000F03F000000000000F03F00"
                  "0000000000044000000000000008C0")) == "LINESTRING(0 0,1 1,2.5 -3)");
  CHECK(wkt(unhex("E61000000103000000020000000500000000000000000000000000000000000000000000000000244000000000000000"
                  "00000000000000244000000000000024400000000000000000000000000000244000000000000000000000000000000000"
                  "04000000000000000000F03F000000000000F03F0000000000000040000000000000F03F00000000000000400000000000"
                  "000040000000000000F03F000000000000F03F")) == "POLYGON((0 0,10 0,10 10,0 10,0 0),(1 1,2 1,2 2,1 1))");
  CHECK(wkt(unhex("E61000000104000000020000000101000000000000000000F03F000000000000F03F01010000000000000000000040000000"
                  "0000000040")) == "MULTIPOINT((1 1),(2 2))");
  CHECK(wkt(unhex("E610000001050000000200000001020000000200000000000000000000000000000000000000000000000000F03F000000"
                  "000000F03F0102000000020000000000000000000040000000000000004000000000000008400000000000000840")) ==
        "MULTILINESTRING((0 0,1 1),(2 2,3 3))");
  CHECK(wkt(unhex("E61000000106000000020000000103000000010000000400000000000000000000000000000000000000000000000000F0"
                  "3F0000000000000000000000000000F03F000000000000F03F0000000000000000000000000000000001030000000100"
                  "00000400000000000000000014400000000000001440000000000000184000000000000014400000000000001840000000"
                  "000000184000000000000014400000000000001440")) ==
        "MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))");
  CHECK(wkt(unhex("E6100000010700000000000000")) == "GEOMETRYCOLLECTION EMPTY");
}

TEST_CASE("big-endian and mixed byte orders, nesting and empty members render as WKT") {
  Wkb be;
  be.point(false, 1.5, -2);
  CHECK(wkt_of_wkb(be.bytes) == "POINT(1.5 -2)");

  Wkb multi;
  multi.header(false, 4).u32(2);
  multi.point(true, 1, 2).point(false, 3, 4);
  CHECK(wkt_of_wkb(multi.bytes) == "MULTIPOINT((1 2),(3 4))");

  Wkb gc;
  gc.header(true, 7).u32(3);
  gc.point(false, 0.1, 0.2);
  gc.header(true, 2).u32(2).f64(0).f64(0).f64(1).f64(1);
  gc.header(false, 7).u32(1);
  gc.header(true, 3).u32(0);
  CHECK(wkt_of_wkb(gc.bytes) ==
        "GEOMETRYCOLLECTION(POINT(0.1 0.2),LINESTRING(0 0,1 1),GEOMETRYCOLLECTION(POLYGON EMPTY))");

  Wkb empties;
  empties.header(true, 7).u32(3);
  empties.header(true, 2).u32(0);
  empties.header(true, 4).u32(0);
  empties.header(true, 6).u32(0);
  CHECK(wkt_of_wkb(empties.bytes) == "GEOMETRYCOLLECTION(LINESTRING EMPTY,MULTIPOINT EMPTY,MULTIPOLYGON EMPTY)");

  Wkb with_srid;
  with_srid.u32(0);
  with_srid.point(true, -0.0, 123456789.125);
  CHECK(wkt(with_srid.bytes) == "POINT(-0 123456789.125)");
}

TEST_CASE("every truncated prefix of a geometry is a data error naming a byte offset") {
  std::string polygon = unhex(
      "E61000000103000000020000000500000000000000000000000000000000000000000000000000244000000000000000000000000000"
      "00244000000000000024400000000000000000000000000000244000000000000000000000000000000000040000000000000000"
      "00F03F000000000000F03F0000000000000040000000000000F03F00000000000000400000000000000040000000000000F03F0000"
      "00000000F03F");
  Wkb gc;
  gc.u32(0).header(true, 7).u32(2);
  gc.point(false, 1, 2);
  gc.header(false, 5).u32(1).header(true, 2).u32(1).f64(3).f64(4);
  for (const std::string& value : {polygon, gc.bytes}) {
    REQUIRE_NOTHROW(wkt(value));
    for (size_t n = 0; n < value.size(); ++n) {
      INFO("prefix of " << n << " bytes");
      try {
        wkt(value.substr(0, n));
        FAIL("accepted a truncated geometry");
      } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::kData);
        CHECK_THAT(e.what(), Catch::Contains("at byte"));
      }
    }
  }
}

TEST_CASE("every single-byte corruption of a geometry renders or fails cleanly") {
  Wkb gc;
  gc.u32(4326).header(true, 7).u32(2);
  gc.point(false, 1, 2);
  gc.header(true, 6).u32(1).header(false, 3).u32(1).u32(4).f64(0).f64(0).f64(1).f64(0).f64(1).f64(1).f64(0).f64(0);
  REQUIRE(wkt(gc.bytes) == "GEOMETRYCOLLECTION(POINT(1 2),MULTIPOLYGON(((0 0,1 0,1 1,0 0))))");
  for (size_t i = 0; i < gc.bytes.size(); ++i) {
    for (int v : {0x00, 0x01, 0x02, 0x07, 0x7f, 0x80, 0xff}) {
      std::string bad = gc.bytes;
      bad[i] = static_cast<char>(v);
      try {
        wkt(bad);
      } catch (const Error& e) {
        INFO("byte " << i << " = " << v << ": " << e.what());
        CHECK(e.kind() == ErrorKind::kData);
      }
    }
  }
}

TEST_CASE("malformed geometries are data errors") {
  auto rejects = [](const std::string& wkb, const std::string& fragment) {
    INFO("expecting: " << fragment);
    try {
      wkt_of_wkb(wkb);
      FAIL("accepted a malformed geometry");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::kData);
      CHECK_THAT(e.what(), Catch::Contains(fragment));
    }
  };
  Wkb order;
  order.u8(2).u32(1).f64(0).f64(0);
  rejects(order.bytes, "byte order 2 at byte 0");
  Wkb type;
  type.header(true, 8);
  rejects(type.bytes, "unsupported WKB geometry type 8");
  Wkb z;
  z.header(true, 1001).f64(0).f64(0).f64(0);
  rejects(z.bytes, "unsupported WKB geometry type 1001");
  Wkb trailing;
  trailing.point(true, 0, 0).u8(0);
  rejects(trailing.bytes, "1 trailing bytes at byte 21");
  Wkb huge;
  huge.header(true, 2).u32(0xffffffff).f64(0).f64(0);
  rejects(huge.bytes, "count 4294967295 exceeds");
  Wkb mismatch;
  mismatch.header(true, 4).u32(1).header(true, 2).u32(0);
  rejects(mismatch.bytes, "WKB type 2 inside a collection");
  Wkb nan;
  nan.point(true, std::numeric_limits<double>::quiet_NaN(), 0);
  rejects(nan.bytes, "non-finite coordinate at byte 5");
  Wkb ring;
  ring.header(true, 3).u32(1).u32(0);
  rejects(ring.bytes, "empty polygon ring");
  Wkb deep;
  for (int i = 0; i < 40; ++i) deep.header(true, 7).u32(1);
  deep.point(true, 0, 0);
  rejects(deep.bytes, "nested too deeply");
  CHECK_THROWS_AS(wkt(std::string("\0\0\0", 3)), Error);
}

TEST_CASE("integer columns map to their width and signedness") {
  CHECK(word(field(MYSQL_TYPE_TINY, 4, 0, 63)) == "tinyint");
  CHECK(word(field(MYSQL_TYPE_TINY, 3, UNSIGNED_FLAG, 63)) == "tinyint unsigned");
  CHECK(word(field(MYSQL_TYPE_SHORT, 6, 0, 63)) == "smallint");
  CHECK(word(field(MYSQL_TYPE_INT24, 8, UNSIGNED_FLAG, 63)) == "mediumint unsigned");
  CHECK(word(field(MYSQL_TYPE_LONG, 11, 0, 63)) == "int");
  CHECK(word(field(MYSQL_TYPE_LONGLONG, 20, UNSIGNED_FLAG, 63)) == "bigint unsigned");
  CHECK(word(field(MYSQL_TYPE_YEAR, 4, UNSIGNED_FLAG, 63)) == "year");
  CHECK(word(field(MYSQL_TYPE_FLOAT, 12, 0, 63, 31)) == "float");
  CHECK(word(field(MYSQL_TYPE_DOUBLE, 22, 0, 63, 31)) == "double");
}

TEST_CASE("DECIMAL precision is recovered from the display length, sign and point") {
  // Lengths as MariaDB 10.11 reports them.
  CHECK(word(field(MYSQL_TYPE_NEWDECIMAL, 67, 0, 63, 30)) == "decimal(65,30)");
  CHECK(word(field(MYSQL_TYPE_NEWDECIMAL, 12, 0, 63, 2)) == "decimal(10,2)");
  CHECK(word(field(MYSQL_TYPE_NEWDECIMAL, 11, UNSIGNED_FLAG, 63, 2)) == "decimal(10,2)");
  CHECK(word(field(MYSQL_TYPE_NEWDECIMAL, 11, 0, 63, 0)) == "decimal(10,0)");
  CHECK(word(field(MYSQL_TYPE_NEWDECIMAL, 7, 0, 63, 5)) == "decimal(5,5)");
  CHECK(word(field(MYSQL_TYPE_NEWDECIMAL, 4, UNSIGNED_FLAG, 63, 3)) == "decimal(3,3)");
}

TEST_CASE("temporal columns carry their fraction digits") {
  CHECK(word(field(MYSQL_TYPE_DATE, 10, 0, 63)) == "date");
  CHECK(word(field(MYSQL_TYPE_TIME, 14, 0, 63, 3)) == "time(3)");
  CHECK(word(field(MYSQL_TYPE_TIME, 10, 0, 63, 0)) == "time(0)");
  CHECK(word(field(MYSQL_TYPE_DATETIME, 26, 0, 63, 6)) == "datetime(6)");
  CHECK(word(field(MYSQL_TYPE_TIMESTAMP, 23, 0, 63, 3)) == "timestamp(3)");
  CHECK(word(field(MYSQL_TYPE_DATETIME, 19, 0, 63, 39)) == "datetime(6)");  // expression: not fixed
}

TEST_CASE("string columns split into text and binary by charset 63") {
  CHECK(word(field(MYSQL_TYPE_STRING, 40, 0, 45)) == "char");
  CHECK(word(field(MYSQL_TYPE_STRING, 4, BINARY_FLAG, 63)) == "binary");
  CHECK(word(field(MYSQL_TYPE_STRING, 40, BINARY_FLAG, 46)) == "char");  // utf8mb4_bin is still text
  CHECK(word(field(MYSQL_TYPE_VAR_STRING, 40, 0, 45)) == "varchar");
  CHECK(word(field(MYSQL_TYPE_VAR_STRING, 10, BINARY_FLAG, 63)) == "varbinary");
  CHECK(word(field(MYSQL_TYPE_BLOB, 262140, BLOB_FLAG, 45)) == "text");
  CHECK(word(field(MYSQL_TYPE_BLOB, 65535, BLOB_FLAG | BINARY_FLAG, 63)) == "blob");
  CHECK(word(field(MYSQL_TYPE_BLOB, 4294967295UL, BLOB_FLAG | BINARY_FLAG, 45)) == "text");  // MariaDB JSON
  CHECK(word(field(MYSQL_TYPE_STRING, 4, ENUM_FLAG, 45)) == "enum");
  CHECK(word(field(MYSQL_TYPE_STRING, 12, SET_FLAG, 45)) == "set");
}

TEST_CASE("BIT, JSON, GEOMETRY and unknown types") {
  CHECK(word(field(MYSQL_TYPE_BIT, 1, UNSIGNED_FLAG, 63)) == "bit(1)");
  CHECK(word(field(MYSQL_TYPE_BIT, 64, UNSIGNED_FLAG, 63)) == "bit(64)");
  CHECK(word(field(MYSQL_TYPE_JSON, 4294967295UL, BLOB_FLAG, 63)) == "json");
  CHECK(word(field(MYSQL_TYPE_GEOMETRY, 4294967295UL, BLOB_FLAG | BINARY_FLAG, 63)) == "geometry");
  CHECK(word(field(static_cast<enum_field_types>(242), 0, 0, 63)) == "vector");
  CHECK_THROWS_AS(column_type_of(field(static_cast<enum_field_types>(200))), Error);
}
