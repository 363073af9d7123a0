// Unit tests of mq-pipe's parts: the confirm window, line scanning, --ack parsing, COMMAND handling,
// options, and the Kafka publisher/subscriber against librdkafka's in-process mock cluster.
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "../../tools/mq-pipe/child.hpp"
#include "../../tools/mq-pipe/config.hpp"
#include "../../tools/mq-pipe/confirm_window.hpp"
#include "../../tools/mq-pipe/line_scan.hpp"
#include "../../tools/mq-pipe/publisher.hpp"
#include "../../tools/mq-pipe/subscriber.hpp"
#include "cli/error.hpp"
#include "cli/log.hpp"
#include "clients/amqp.hpp"
#include "clients/kafka.hpp"

// After rdkafka.h, as it demands.
#include <librdkafka/rdkafka_mock.h>

using namespace rowpipe;
using namespace rowpipe::mq;

namespace {

// The end of a transaction at mysql-bin.000001:offset (a static: add() copies it).
const Boundary* at(uint64_t offset) {
  static Boundary b;
  b = Boundary{"mysql-bin.000001", offset, std::nullopt, {}};
  return &b;
}

ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  FAIL("no Error thrown");
  return ErrorKind::kInternal;
}

// Parses an mq-pipe command line as main() does.
Config parse(std::vector<std::string> args) {
  Config c;
  RawOptions raw;
  CLI::App app{"test", "mq-pipe"};
  add_options(app, c, raw);
  std::vector<const char*> argv{"mq-pipe"};
  for (const auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  resolve(app, c, raw);
  return c;
}

// A one-broker librdkafka mock cluster with a 4-partition topic "t".
struct MockKafka {
  KafkaClient rk;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  std::string bootstraps;

  MockKafka() {
    KafkaConf conf(rd_kafka_conf_new());
    set_property(conf.get(), "log_level", "0");
    rk = create_kafka(RD_KAFKA_PRODUCER, std::move(conf));
    cluster = rd_kafka_mock_cluster_new(rk.get(), 1);
    REQUIRE(cluster != nullptr);
    bootstraps = rd_kafka_mock_cluster_bootstraps(cluster);
    REQUIRE(rd_kafka_mock_topic_create(cluster, "t", 4, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ~MockKafka() { rd_kafka_mock_cluster_destroy(cluster); }

  Config config() const {
    Config c;
    c.url = parse_url("kafka://" + bootstraps + "/t");
    c.kafka = true;
    c.topic = "t";
    c.quiet = true;
    c.retry_for_s = 30;
    c.max_message_bytes = 1'000'000;
    c.properties = {"log_level=0"};
    return c;
  }
};

std::string row_line(int id, int version) {
  return R"({"binlog":"mysql-bin.000001:)" + std::to_string(version * 100) +
         R"(","row":0,"db":"d","table":"t","eventType":"UPDATE","pk":["id"],"before":{"id":)" + std::to_string(id) +
         R"(},"after":{"id":)" + std::to_string(id) + R"(,"v":)" + std::to_string(version) + "}}";
}

}  // namespace

TEST_CASE("the confirm window checkpoints only a prefix confirmed in full, whatever the order of confirmations") {
  ConfirmWindow w;
  w.add(1);
  w.add(2, at(300));
  w.add(3);
  w.add(4, at(500));
  w.confirm(2);
  w.confirm(4);
  CHECK(w.confirmed_through() == 0);
  CHECK_FALSE(w.moved());
  CHECK_FALSE(w.take_checkpoint());
  w.confirm(1);
  CHECK(w.confirmed_through() == 2);
  CHECK(w.moved());  // what pub looks at before it reads the clock
  const Checkpoint* cp = w.take_checkpoint();
  REQUIRE(cp != nullptr);
  CHECK(cp->binlog.str() == "mysql-bin.000001:300");
  CHECK_FALSE(w.moved());
  CHECK_FALSE(w.take_checkpoint());  // reported once
  w.confirm(3);
  CHECK(w.moved());
  CHECK(w.confirmed_through() == 4);
  CHECK(w.take_checkpoint()->binlog.offset == 500);
  CHECK(w.unconfirmed() == 0);
}

TEST_CASE("the confirm window keeps thousands of boundaries in flight, in order") {
  ConfirmWindow w;
  for (uint64_t i = 1; i <= 5000; ++i) w.add(i, at(i * 10));
  for (uint64_t i = 5000; i >= 2; --i) w.confirm(i);
  CHECK(w.take_checkpoint() == nullptr);
  w.confirm(1);
  CHECK(w.take_checkpoint()->binlog.offset == 50000);
  for (uint64_t i = 5001; i <= 5100; ++i) w.add_done(i, at(i * 10));
  CHECK(w.checkpoint()->binlog.offset == 51000);
}

TEST_CASE("lines that need no confirmation count as confirmed, and repeated confirmations are ignored") {
  ConfirmWindow w;
  w.add_done(1, at(100));
  w.add(2);
  w.confirm(2);
  w.confirm(2);
  w.confirm(7);
  CHECK(w.confirmed_through() == 2);
  CHECK(w.unconfirmed() == 0);
  CHECK(w.checkpoint()->binlog.offset == 100);
  CHECK(kind_of([&] { w.add(5); }) == ErrorKind::kInternal);
}

TEST_CASE("the line scanner renders the key from the row image and reads the transaction boundary") {
  LineScanner s(KeyTemplate::compile("{db}.{table}.{pk}"), true);
  const LineInfo& i = s.scan(
      R"({"binlog":"mysql-bin.000003:400","row":2,"server_id":7,"gtid":"0-7-9","db":"shop","table":"orders",)"
      R"("eventType":"INSERT","pk":["a","b"],"after":{"a":1,"b":"x_y"},"commit":true,"next":"mysql-bin.000003:900"})");
  CHECK(i.key == "shop.orders.1_x\\_y");
  REQUIRE(i.has_position);
  CHECK(i.position().str() == "mysql-bin.000003:400:2");
  CHECK(i.server_id == 7u);
  REQUIRE(i.boundary);
  CHECK(i.boundary->file == "mysql-bin.000003");
  CHECK(i.boundary->offset == 900);
  CHECK(i.boundary->gtid == "0-7-9");

  const LineInfo& d = s.scan(R"({"binlog":"b.1:5","db":"d","table":"t","eventType":"DELETE","pk":["id"],)"
                             R"("before":{"id":42},"after":null})");
  CHECK(d.key == "d.t.42");
  CHECK_FALSE(d.boundary);
}

TEST_CASE("binary key columns render as their bytes and invalid UTF-8 passes through the scanner") {
  LineScanner s(KeyTemplate::compile("{pk}"), false);
  CHECK(s.scan(R"({"db":"d","table":"t","pk":["k"],"types":{"k":"varbinary"},"after":{"k":"YWJj"}})").key == "abc");
  std::string bad = "{\"db\":\"d\xff\",\"table\":\"t\",\"pk\":[\"k\"],\"after\":{\"k\":\"\xc3\x28\"}}";
  CHECK(s.scan(bad).key == "\xc3\x28");
}

TEST_CASE("the scanner decodes escapes, takes the first of repeated names and skips what it does not need") {
  LineScanner s(KeyTemplate::compile("{db}/{table}/{col:n\\\"x}/{pk}"), true);
  const LineInfo& i =
      s.scan(R"({"skip":{"a":[1,{"b":"}]\""}]},"db":"d\u00e9","table":"t","db":"other","eventType":"UPDATE",)"
             R"("pk":["k"],"before":{"k":0},"after":{"x":[{}],"k":1.50,"k":2,"n\\\"x":"q\"z"},"binlog":"f.1:4"})");
  CHECK(i.key == "d\xc3\xa9/t/q\"z/1.5");
  CHECK(i.position().str() == "f.1:4:0");
}

TEST_CASE("lines without a row take the key without its row placeholders; a seed DELETE keys by its row") {
  LineScanner s(KeyTemplate::compile("{db}.{table}.{pk}"), false);
  CHECK(s.scan(R"({"binlog":"f.1:4","eventType":"HEARTBEAT","commit":true,"next":"f.1:9"})").key == "..");
  CHECK(s.scan(R"({"binlog":"f.1:4","db":"d","table":"t","eventType":"DDL","sql":"TRUNCATE t"})").key == "d.t.");
  LineScanner seed(KeyTemplate::compile("{db}_{table}_{col:id}"), false);
  CHECK(
      seed.scan(R"({"binlog":"f.1:4","db":"d","table":"t","eventType":"DELETE","before":"","after":{"id":"9"}})").key ==
      "d_t_9");
  CHECK(kind_of([&] { s.scan(R"({"db":"d","table":"t","eventType":"INSERT","pk":["id"],"after":null})"); }) ==
        ErrorKind::kData);
}

TEST_CASE("a line the key cannot be read from is a data error that says why") {
  LineScanner s(KeyTemplate::compile("{db}.{table}"), false);
  CHECK(kind_of([&] { s.scan("not json"); }) == ErrorKind::kData);
  CHECK(kind_of([&] { s.scan("[1,2]"); }) == ErrorKind::kData);
  LineScanner pk(KeyTemplate::compile("{pk}"), false);
  CHECK(kind_of([&] { pk.scan(R"({"db":"d","table":"t","after":{"id":1}})"); }) == ErrorKind::kData);
  LineScanner ck(std::nullopt, true);
  CHECK(kind_of([&] { ck.scan(R"({"binlog":"x","commit":true})"); }) == ErrorKind::kData);
  CHECK(kind_of([&] { ck.scan(R"({"binlog":"f.1:4","commit":true})"); }) == ErrorKind::kData);
}

TEST_CASE("a constant key or no key at all needs no parsing") {
  LineScanner constant(KeyTemplate::compile("fixed{{1}}"), false);
  CHECK_FALSE(constant.needs_parse());
  CHECK(constant.scan("anything").key == "fixed{1}");
  LineScanner none(std::nullopt, false);
  CHECK_FALSE(none.needs_parse());
  CHECK(none.scan("x").key.empty());
}

TEST_CASE("the --ack parser takes counts across partial reads and rejects anything else") {
  AckParser p;
  CHECK(p.feed("1\n2") == 1);
  CHECK(p.feed("0\n30\r\n") == 30);
  CHECK(kind_of([&] { p.feed("29\n"); }) == ErrorKind::kProtocol);
  AckParser q;
  CHECK(kind_of([&] { q.feed("ok\n"); }) == ErrorKind::kProtocol);
}

TEST_CASE("COMMAND gets the lines on stdin, its acks are read, and its exit status is kept") {
  Child child({"sh", "-c", "n=0; while read -r l; do n=$((n+1)); echo $n; done; exit 3"});
  std::string input = "a\nb\nc\n";
  size_t done = 0;
  while (done < input.size()) done += child.write_some(std::string_view(input).substr(done));
  child.close_stdin();
  while (!child.stdout_closed()) {
    child.read_acks();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  child.wait();
  CHECK(child.read_acks() == 3);
  CHECK(child.status() == 3);
  CHECK(child.describe() == "exited with status 3");

  Child killed({"sh", "-c", "kill -9 $$"});
  killed.wait();
  CHECK(killed.status() == 137);
  CHECK(kind_of([] { Child missing({"/nonexistent/command"}); }) == ErrorKind::kUsage);
}

TEST_CASE("options: a flag wins over the URL's parameter, and broker-specific flags are checked") {
  Config c = parse({"pub", "amqp://u@h/v?exchange=e1&queue=q1", "--exchange", "e2"});
  CHECK(c.exchange == "e2");
  CHECK(c.queue == "q1");
  CHECK(c.url.path == "v");
  CHECK(c.max_message_bytes == 64u << 20);
  Config k = parse({"sub", "kafka://b1:9092,b2:9093/topic", "--group", "g"});
  CHECK(k.kafka);
  CHECK(k.topic == "topic");
  CHECK(k.from == From::kCommitted);
  CHECK(parse({"sub", "kafka://b/t"}).from == From::kBeginning);  // no group: read everything
  CHECK(kind_of([] { parse({"pub", "kafka://b/t", "--exchange", "x"}); }) == ErrorKind::kUsage);
  CHECK(kind_of([] { parse({"pub", "kafka://b/"}); }) == ErrorKind::kUsage);
  CHECK(kind_of([] {
          parse({"pub", "amqp://u@h/?exchange=e", "--routing-key", "r", "--key", "{db}"});
        }) == ErrorKind::kUsage);
  CHECK(kind_of([] { parse({"sub", "amqp://u@h/"}); }) == ErrorKind::kUsage);
  CHECK(kind_of([] { parse({"pub", "redis://h/"}); }) == ErrorKind::kUsage);
  CHECK(kind_of([] { parse({"sub", "kafka://b/t", "--from", "committed"}); }) == ErrorKind::kUsage);
}

TEST_CASE("the default confirm window is the 10000 that --help states") {
  Config c = parse({"pub", "amqp://u@h/?queue=q"});
  CHECK(c.window == 10'000u);
  Config help_c;
  RawOptions raw;
  CLI::App app{"test", "mq-pipe"};
  add_options(app, help_c, raw);
  const CLI::Option* window = app.get_subcommand("pub")->get_option("--window");
  CHECK(window->get_description().find("(default " + std::to_string(c.window) + ")") != std::string::npos);
}

TEST_CASE("the broker password comes from the URL, else --password-file, else the environment") {
  std::string file = "/tmp/rowpipe-mq-test-password-" + std::to_string(::getpid());
  {
    FILE* f = std::fopen(file.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("from-file\n", f);
    std::fclose(f);
  }
  ::setenv("AMQP_PASSWORD", "from-env", 1);
  CHECK(resolve_password(parse_url("amqp://u:from-url@h/"), file) == "from-url");
  CHECK(resolve_password(parse_url("amqp://u@h/"), file) == "from-file");
  CHECK(resolve_password(parse_url("amqp://u@h/"), "") == "from-env");
  ::unsetenv("AMQP_PASSWORD");
  CHECK_FALSE(resolve_password(parse_url("amqp://u@h/"), "").has_value());
  std::remove(file.c_str());
}

TEST_CASE("pub refuses -X properties that weaken acks=all or idempotence, and takes those that keep them") {
  for (const char* weak : {"acks=1", "acks=0", "request.required.acks=1", "enable.idempotence=false",
                           "enable.idempotence=0", "max.in.flight.requests.per.connection=6", "max.in.flight=100"}) {
    INFO(weak);
    CHECK(kind_of([&] { parse({"pub", "kafka://b/t", "-X", "linger.ms=5", "-X", weak}); }) == ErrorKind::kUsage);
  }
  Config c = parse({"pub", "kafka://b/t", "-X", "acks=all", "-X", "acks=-1", "-X", "enable.idempotence=true", "-X",
                    "max.in.flight=5", "-X", "linger.ms=50"});
  CHECK(c.properties.size() == 5);
  // sub has no producer: its -X are librdkafka's business.
  CHECK(parse({"sub", "kafka://b/t", "-X", "acks=1"}).properties.size() == 1);
}

TEST_CASE("AMQP and Kafka errors map to the categories callers act on") {
  CHECK(amqp_reply_code_kind(AMQP_ACCESS_REFUSED) == ErrorKind::kPermission);
  CHECK(amqp_reply_code_kind(AMQP_NOT_FOUND) == ErrorKind::kConfig);
  CHECK(amqp_reply_code_kind(AMQP_CONNECTION_FORCED) == ErrorKind::kUnavailable);
  CHECK(amqp_status_kind(AMQP_STATUS_SOCKET_ERROR) == ErrorKind::kUnavailable);
  CHECK(kafka_error_kind(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT) == ErrorKind::kUnavailable);
  CHECK(kafka_error_kind(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) == ErrorKind::kPermission);
  CHECK(kafka_error_kind(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) == ErrorKind::kData);
  KafkaConf conf(rd_kafka_conf_new());
  CHECK(kind_of([&] { apply_properties(conf.get(), {"no.such.property=1"}); }) == ErrorKind::kConfig);
  CHECK(kind_of([&] { apply_properties(conf.get(), {"novalue"}); }) == ErrorKind::kUsage);
}

TEST_CASE("Kafka (mock cluster): every line is confirmed, read back, and keeps its order per key") {
  MockKafka mock;
  Config c = mock.config();
  constexpr int kLines = 2000;
  ConfirmWindow window;
  {
    auto pub = make_kafka_publisher(c, window);
    for (int i = 1; i <= kLines; ++i) {
      window.add(static_cast<uint64_t>(i));
      std::string line = row_line(i % 50, i);
      pub->publish(static_cast<uint64_t>(i), "d.t." + std::to_string(i % 50), line);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (pub->outstanding() > 0 && std::chrono::steady_clock::now() < deadline) pub->poll(50, -1);
    pub->close();
  }
  CHECK(window.confirmed_through() == kLines);

  c.from = From::kBeginning;
  c.exit_at_end = true;
  auto sub = make_kafka_subscriber(c);
  std::map<int, int> last_version;
  int lines = 0, out_of_order = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!sub->at_end() && std::chrono::steady_clock::now() < deadline) {
    sub->fetch(500, [&](std::string_view body, const Mark& mark) {
      CHECK(mark.lane >= 0);
      std::string s(body);
      int version = std::stoi(s.substr(s.find("\"v\":") + 4));
      int id = version % 50;
      if (last_version[id] >= version) ++out_of_order;
      last_version[id] = version;
      ++lines;
    });
    if (!sub->more()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  sub->close();
  CHECK(lines == kLines);
  CHECK(out_of_order == 0);
}

TEST_CASE("Kafka (mock cluster): lines wait while the broker is down and are confirmed once it is back") {
  MockKafka mock;
  Config c = mock.config();
  ConfirmWindow window;
  auto pub = make_kafka_publisher(c, window);
  log::set_threshold(log::Level::kError);  // the outage's warnings are expected here
  rd_kafka_mock_broker_set_down(mock.cluster, 1);
  for (int i = 1; i <= 100; ++i) {
    window.add(static_cast<uint64_t>(i), at(static_cast<uint64_t>(i) * 100));
    pub->publish(static_cast<uint64_t>(i), "k", row_line(1, i));
  }
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
  while (std::chrono::steady_clock::now() < until) pub->poll(50, -1);
  CHECK(window.confirmed_through() == 0);
  CHECK_FALSE(window.checkpoint());
  rd_kafka_mock_broker_set_up(mock.cluster, 1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (pub->outstanding() > 0 && std::chrono::steady_clock::now() < deadline) pub->poll(50, -1);
  log::set_threshold(log::Level::kNotice);
  CHECK(window.confirmed_through() == 100);
  CHECK(window.checkpoint()->binlog.offset == 10000);
}
