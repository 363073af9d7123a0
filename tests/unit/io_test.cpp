// Unit tests of the I/O conventions: checkpoints, line reading, output, dead letters, acks,
// secrets and exit codes.
#include <fcntl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/error.hpp"
#include "cli/secret.hpp"
#include "event/line_source.hpp"
#include "io/checkpoint.hpp"
#include "io/dead_letter.hpp"
#include "io/line_reader.hpp"
#include "io/output.hpp"

using namespace rowpipe;

namespace {

// A private directory removed at scope exit.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/rowpipe-unit-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

// Reads every line of `content` through a LineReader over a pipe.
std::vector<std::string> read_lines(const std::string& content, size_t max_line,
                                    std::vector<LineReader::Status>* st = nullptr,
                                    std::vector<bool>* terminated = nullptr) {
  TempDir dir;
  spit(dir.file("in"), content);
  int fd = ::open(dir.file("in").c_str(), O_RDONLY);
  LineReader reader(fd, "in", max_line, true);
  std::vector<std::string> out;
  Line line;
  for (;;) {
    auto s = reader.next(line);
    if (s == LineReader::Status::kEnd) break;
    out.emplace_back(line.text);
    if (st) st->push_back(s);
    if (terminated) terminated->push_back(line.terminated);
  }
  return out;
}

const char* kGood =
    R"J({"binlog":"b.000001:4","db":"d","table":"t","eventType":"INSERT","after":{"id":1},"commit":true,"next":"b.000001:99"})J";

}  // namespace

TEST_CASE("checkpoints render and parse every field") {
  Checkpoint c{*Position::parse("mysql-bin.000009:1890"), 7u, "0-1-42", RowPosition::parse("mysql-bin.000009:1890:5")};
  std::string json = c.to_json();
  CHECK(json ==
        R"J({"binlog":"mysql-bin.000009:1890","server_id":7,"gtid":"0-1-42","applied":"mysql-bin.000009:1890:5"})J");
  Checkpoint back = Checkpoint::parse(json, "x");
  CHECK(back.binlog == c.binlog);
  CHECK(back.server_id == 7u);
  CHECK(back.gtid == "0-1-42");
  REQUIRE(back.applied);
  CHECK(*back.applied == *c.applied);
  Checkpoint minimal = Checkpoint::parse(R"J({"binlog":"f.000001:4"})J", "x");
  CHECK(minimal.to_json() == R"J({"binlog":"f.000001:4"})J");
}

TEST_CASE("a checkpoint covers rows of finished transactions and applied rows of the current one") {
  Checkpoint c{*Position::parse("b.000002:500"), std::nullopt, "", std::nullopt};
  CHECK(c.covers({*Position::parse("b.000001:900"), 3}));
  CHECK(c.covers({*Position::parse("b.000002:499"), 0}));
  CHECK_FALSE(c.covers({*Position::parse("b.000002:500"), 0}));
  CHECK_FALSE(c.covers({*Position::parse("b.000003:4"), 0}));
  c.applied = RowPosition{*Position::parse("b.000002:600"), 2};
  CHECK(c.covers({*Position::parse("b.000002:600"), 2}));
  CHECK(c.covers({*Position::parse("b.000002:550"), 9}));
  CHECK_FALSE(c.covers({*Position::parse("b.000002:600"), 3}));
}

TEST_CASE("bad checkpoint documents are configuration errors naming the file") {
  for (const char* bad : {"", "{}", "[]", R"J({"binlog":"nocolon"})J", R"J({"binlog":"b.1:4","server_id":-1})J",
                          R"J({"binlog":"b.1:4","applied":"b.1:4"})J", R"J({"binlog":"b.1:4","gtid":5})J"}) {
    INFO(bad);
    try {
      Checkpoint::parse(bad, "ck.json");
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::kConfig);
      CHECK_THAT(e.what(), Catch::Contains("ck.json"));
    }
  }
}

TEST_CASE("checkpoint files are replaced atomically and a missing file means a first run") {
  TempDir dir;
  std::string path = dir.file("pub.ckpt");
  CHECK_FALSE(read_checkpoint_file(path));
  Checkpoint c{*Position::parse("mysql-bin.000001:4"), 1u, "", std::nullopt};
  for (uint64_t off = 4; off < 400; off += 40) {
    c.binlog.offset = off;
    write_checkpoint_file(path, c);
    auto back = read_checkpoint_file(path);
    REQUIRE(back);
    REQUIRE(back->binlog.offset == off);
  }
  CHECK(slurp(path) == c.to_json() + "\n");
  // No temporary files are left beside it.
  CHECK(std::system(("test $(ls -A '" + dir.path + "' | wc -l) -eq 1").c_str()) == 0);
  spit(path, "garbage");
  CHECK_THROWS_AS(read_checkpoint_file(path), Error);
  CHECK_THROWS_AS(write_checkpoint_file(dir.file("no/such/dir/ck"), c), Error);
}

TEST_CASE("lines are split on newlines with CRLF endings stripped") {
  std::vector<bool> terminated;
  auto lines = read_lines("a\r\nbb\n\nccc", 100, nullptr, &terminated);
  REQUIRE(lines == std::vector<std::string>{"a", "bb", "", "ccc"});
  CHECK(terminated == std::vector<bool>{true, true, true, false});
}

TEST_CASE("lines over the bound are reported without holding them in memory") {
  std::string big(5000, 'x');
  std::vector<LineReader::Status> st;
  auto lines = read_lines("short\n" + big + "\nafter\n" + big, 100, &st);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "short");
  CHECK(st[1] == LineReader::Status::kOversized);
  CHECK(lines[1] == std::string(100, 'x'));
  CHECK(lines[2] == "after");
  CHECK(st[3] == LineReader::Status::kOversized);
}

TEST_CASE("long lines within the bound cross buffer refills intact") {
  std::string content;
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    std::string l(static_cast<size_t>(i * 97 % 300000 + 1), static_cast<char>('a' + i % 26));
    expected.push_back(l);
    content += l + "\n";
  }
  CHECK(read_lines(content, 1 << 20) == expected);
}

TEST_CASE("an oversized line can be streamed verbatim to a sink") {
  TempDir dir;
  std::string big(3 << 20, 'y');
  big[12345] = 'z';
  spit(dir.file("in"), big + "\nnext\n");
  LineReader reader(::open(dir.file("in").c_str(), O_RDONLY), "in", 1000, true);
  Line line;
  REQUIRE(reader.next(line) == LineReader::Status::kOversized);
  std::string copy(line.text);
  reader.skip_oversized(line, [&](std::string_view piece) { copy += piece; });
  CHECK(copy == big);
  REQUIRE(reader.next(line) == LineReader::Status::kLine);
  CHECK(line.text == "next");
  CHECK(line.number == 2);
}

TEST_CASE("reading waits no longer than the timeout when no line is complete") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  LineReader reader(fds[0], "stdin", 100, true);
  REQUIRE(::write(fds[1], "partial", 7) == 7);
  Line line;
  CHECK(reader.next(line, 20) == LineReader::Status::kTimeout);
  REQUIRE(::write(fds[1], " line\n", 6) == 6);
  REQUIRE(reader.next(line, 1000) == LineReader::Status::kLine);
  CHECK(line.text == "partial line");
  ::close(fds[1]);
  CHECK(reader.next(line, 1000) == LineReader::Status::kEnd);
}

TEST_CASE("input files are read in order and a missing one is a no-input error") {
  TempDir dir;
  spit(dir.file("a"), "1\n2\n");
  spit(dir.file("b"), "3\n");
  InputFiles in({dir.file("a"), dir.file("b"), dir.file("missing")}, 100);
  Line line;
  std::vector<std::string> got;
  try {
    while (in.next(line) != LineReader::Status::kEnd)
      got.emplace_back(std::string(line.text) + "@" + std::to_string(line.number));
    FAIL("missing file not reported");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kNoInput);
    CHECK_THAT(e.what(), Catch::Contains("missing"));
  }
  CHECK(got == std::vector<std::string>{"1@1", "2@2", "3@1"});
}

TEST_CASE("writing to a closed pipe raises BrokenPipe, not a signal") {
  std::signal(SIGPIPE, SIG_IGN);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[0]);
  Output out(fds[1], "stdout", true);
  out.write("line\n");
  CHECK_THROWS_AS(out.flush(), BrokenPipe);
}

TEST_CASE("output is buffered until flushed or full") {
  TempDir dir;
  int fd = ::open(dir.file("o").c_str(), O_WRONLY | O_CREAT, 0644);
  Output out(fd, "o", true, 16);
  out.write("0123456789");
  CHECK(slurp(dir.file("o")).empty());
  out.write("abcdefghij");  // overflows the buffer: the first part goes out
  CHECK(slurp(dir.file("o")) == "0123456789");
  out.write(std::string(40, 'L'));  // larger than the buffer: written through
  out.flush();
  CHECK(slurp(dir.file("o")) == "0123456789abcdefghij" + std::string(40, 'L'));
  out.close();
}

TEST_CASE("acks are written as counts that only grow") {
  TempDir dir;
  int fd = ::open(dir.file("acks").c_str(), O_WRONLY | O_CREAT, 0644);
  {
    Output out(fd, "acks", true);
    AckWriter ack(out);
    ack.ack(3);
    ack.ack(3);
    ack.ack(2);
    ack.ack(10);
    out.close();
  }
  CHECK(slurp(dir.file("acks")) == "3\n10\n");
}

TEST_CASE("bad lines are set aside verbatim with their count, and good ones pass") {
  TempDir dir;
  std::string big(2000, 'q');
  spit(dir.file("in"), std::string(kGood) + "\nnot json\n\n" + big + "\n" + kGood + "\n");
  LineSourceOptions opt;
  opt.files = {dir.file("in")};
  opt.max_line_bytes = 1000;
  opt.dead_letter = dir.file("dead");
  LineSource src(opt);
  int events = 0;
  LineSource::Status s;
  while ((s = src.next()) == LineSource::Status::kEvent) ++events;
  CHECK(s == LineSource::Status::kEnd);
  CHECK(events == 2);
  CHECK(src.lines_read() == 5);
  CHECK(src.dead_lettered() == 3);
  src.sync_dead_letter();
  CHECK(slurp(dir.file("dead")) == "not json\n\n" + big + "\n");
}

TEST_CASE("without a dead-letter file the first bad line stops reading, naming its position") {
  TempDir dir;
  spit(dir.file("in"), std::string(kGood) + "\n{\"binlog\":\"b.1:4\"}\n" + kGood + "\n");
  LineSourceOptions opt;
  opt.files = {dir.file("in")};
  LineSource src(opt);
  REQUIRE(src.next() == LineSource::Status::kEvent);
  REQUIRE(src.next() == LineSource::Status::kStop);
  CHECK_THAT(src.error(), Catch::StartsWith(dir.file("in") + ":2: missing field \"eventType\""));
}

TEST_CASE("--max-errors bounds how many lines are set aside") {
  TempDir dir;
  spit(dir.file("in"), "x\ny\nz\n");
  LineSourceOptions opt;
  opt.files = {dir.file("in")};
  opt.dead_letter = dir.file("dead");
  opt.max_errors = 2;
  LineSource src(opt);
  REQUIRE(src.next() == LineSource::Status::kStop);
  CHECK_THAT(src.error(), Catch::Contains(":3:") && Catch::Contains("--max-errors 2"));
  CHECK(src.dead_lettered() == 2);
}

TEST_CASE("a torn last line is reported as incomplete") {
  TempDir dir;
  spit(dir.file("in"), std::string(kGood) + "\n{\"binlog\":\"b.1:4\",\"db");
  LineSourceOptions opt;
  opt.files = {dir.file("in")};
  LineSource src(opt);
  REQUIRE(src.next() == LineSource::Status::kEvent);
  REQUIRE(src.next() == LineSource::Status::kStop);
  CHECK_THAT(src.error(), Catch::Contains(":2: incomplete last line"));
}

TEST_CASE("secrets are blanked from argv and redacted from URLs") {
  std::vector<std::string> args{
      "tool", "--password",          "hunter2", "--password=sesame", "mysql://repl:s3cret@db:3306/x",
      "-X",   "sasl.password=kpass", "-X",      "client.id=me",      "redis://127.0.0.1:6379",
      "--",   "--password",          "child"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  CHECK(blank_argv_secrets(static_cast<int>(argv.size()), argv.data()) == 4);
  CHECK(std::string(argv[2]) == "xxxxxxx");
  CHECK(std::string(argv[3]) == "--password=xxxxxx");
  CHECK(std::string(argv[4]) == "mysql://repl:xxxxxx@db:3306/x");
  CHECK(std::string(argv[6]) == "sasl.password=xxxxx");
  CHECK(std::string(argv[8]) == "client.id=me");
  CHECK(std::string(argv[9]) == "redis://127.0.0.1:6379");
  CHECK(std::string(argv[12]) == "child");  // after `--` the arguments belong to the child command
  CHECK(redact_url("mysql://repl:s3cret@db:3306/x") == "mysql://repl:***@db:3306/x");
  CHECK(redact_url("redis://:pw@h:1/0") == "redis://:***@h:1/0");
  CHECK(redact_url("amqp://u@h/v?password=p&queue=q") == "amqp://u@h/v?password=***&queue=q");
  CHECK(redact_url("kafka://h:9092/t") == "kafka://h:9092/t");
}

TEST_CASE("secret files are read with their trailing newline trimmed") {
  TempDir dir;
  spit(dir.file("pw"), "p@ss word\n");
  CHECK(read_secret_file(dir.file("pw")) == "p@ss word");
  CHECK_THROWS_AS(read_secret_file(dir.file("nope")), Error);
}

TEST_CASE("each error category has its own sysexits code") {
  CHECK(exit_code(ErrorKind::kUsage) == EX_USAGE);
  CHECK(exit_code(ErrorKind::kData) == EX_DATAERR);
  CHECK(exit_code(ErrorKind::kNoInput) == EX_NOINPUT);
  CHECK(exit_code(ErrorKind::kUnavailable) == EX_UNAVAILABLE);
  CHECK(exit_code(ErrorKind::kInternal) == EX_SOFTWARE);
  CHECK(exit_code(ErrorKind::kIo) == EX_IOERR);
  CHECK(exit_code(ErrorKind::kProtocol) == EX_PROTOCOL);
  CHECK(exit_code(ErrorKind::kPermission) == EX_NOPERM);
  CHECK(exit_code(ErrorKind::kConfig) == EX_CONFIG);
}
