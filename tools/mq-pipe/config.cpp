// Command line and URL of mq-pipe: one place that defines, merges and checks the options.
#include "config.hpp"

#include <strings.h>
#include <CLI/CLI.hpp>
#include <charconv>

#include "cli/error.hpp"

namespace rowpipe::mq {
namespace {

constexpr uint64_t kKafkaMaxMessage = 1'000'000;  // the broker's default message.max.bytes
constexpr uint64_t kAmqpMaxMessage = 64 << 20;    // the line limit of rowpipe-events(5)

void add_common(CLI::App* cmd, Config& c, RawOptions& raw) {
  cmd->add_option(
         "URL", raw.url,
         "kafka://HOST:PORT[,HOST:PORT...]/TOPIC or amqp://USER@HOST:PORT/VHOST?exchange=E&routing_key=R&queue=Q "
         "(or @FILE holding it)")
      ->required();
  cmd->add_option("--password-file", c.password_file, "read the broker password from FILE");
  cmd->add_option("-X", c.properties, "PROP=VALUE: a librdkafka property (TLS, SASL, tuning); repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--exchange", raw.exchange, "AMQP exchange (as ?exchange=)");
  cmd->add_option("--routing-key", raw.routing_key,
                  "AMQP: pub: a fixed routing key instead of --key; sub: the binding key of --bind (as ?routing_key=)");
  cmd->add_option("--queue", raw.queue, "AMQP queue (as ?queue=)");
  cmd->add_option("--exchange-type", c.exchange_type,
                  "type of the exchange --declare and --bind declare: topic (default), fanout, direct, "
                  "x-consistent-hash");
  cmd->add_option("--timeout", c.timeout_s, "seconds to wait for a connection or an answer (default 30)")
      ->check(CLI::Range(1u, 3600u));
  cmd->add_flag("-q,--quiet", c.quiet, "only warnings and errors on stderr (no summary)");
  cmd->add_flag("-v,--verbose", c.verbose, "also report connections, rebalances and checkpoints");
}

void add_retry(CLI::App* cmd, Config& c) {
  cmd->add_option("--retry-for", c.retry_for_s,
                  "seconds an unreachable broker is retried before giving up with exit 69 (default 60)")
      ->check(CLI::Range(1u, 86400u * 7));
}

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// pub's checkpoint counts a line as published once librdkafka reports it delivered; that holds only
// with acks=all and an idempotent producer (no loss, no reordering on retry). -X is applied after our
// own settings, so a property that weakens them is refused rather than silently obeyed.
void check_durable_properties(const std::vector<std::string>& properties) {
  for (const std::string& p : properties) {
    size_t eq = p.find('=');
    if (eq == std::string::npos) continue;  // apply_properties() reports the malformed ones
    std::string_view name = std::string_view(p).substr(0, eq);
    std::string_view value = std::string_view(p).substr(eq + 1);
    bool weakens = false;
    if (name == "acks" || name == "request.required.acks") {
      weakens = !equals_nocase(value, "all") && value != "-1";
    } else if (name == "enable.idempotence") {
      weakens = !equals_nocase(value, "true") && !equals_nocase(value, "t") && value != "1";
    } else if (name == "max.in.flight.requests.per.connection" || name == "max.in.flight") {
      // The idempotent producer keeps order across retries with at most 5 requests in flight.
      long n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      weakens = ec == std::errc() && end == value.data() + value.size() && n > 5;  // else librdkafka rejects it
    }
    if (weakens)
      fail(ErrorKind::kUsage, "-X " + p +
                                  " would weaken the delivery pub relies on (acks=all, enable.idempotence=true, "
                                  "max.in.flight<=5)");
  }
}

}  // namespace

std::string Config::target() const {
  if (kafka) return "topic " + topic;
  if (mode == Mode::kPub) return exchange.empty() ? "queue " + queue : "exchange " + exchange;
  return "queue " + queue;
}

void add_options(CLI::App& app, Config& c, RawOptions& raw) {
  app.require_subcommand(1, 1);

  CLI::App* pub = app.add_subcommand("pub", "publish each stdin line as one message, confirmed by the broker");
  add_common(pub, c, raw);
  add_retry(pub, c);
  pub->add_option("--key", c.key,
                  "message key / routing key template: {db} {table} {pk} {col:NAME} (default {db}.{table}; '' "
                  "for none)");
  pub->add_option("--checkpoint", c.checkpoint,
                  "keep in FILE the position after the last transaction the broker confirmed (rowpipe-checkpoint(5))");
  pub->add_flag("--declare", c.declare,
                "Kafka: create the topic (--partitions); AMQP: declare the exchange and the queue, durable");
  pub->add_option("--partitions", c.partitions, "partitions of a topic --declare creates (default 1)")
      ->check(CLI::Range(1, 100000));
  pub->add_option("--max-buffer", c.max_buffer,
                  "messages handed over and not yet confirmed, at most; then stdin waits (default 100000)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}));
  pub->add_option("--max-message-bytes", c.max_message_bytes,
                  "longest line published (default: Kafka 1000000, AMQP 67108864)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 30));
  pub->add_option("--dead-letter", c.dead_letter, "set unusable lines aside in FILE and go on");
  pub->add_option("--max-errors", c.max_errors, "with --dead-letter: stop after more than N unusable lines");
  pub->add_option("--window", c.window, "AMQP: messages published and not yet confirmed, at most (default 10000)")
      ->check(CLI::Range(1u, 1'000'000u));
  pub->add_flag("--no-confirm", c.no_confirm,
                "AMQP: no publisher confirms (benchmark baseline only: a broker crash loses messages)");
  pub->add_option("--idle-ms", c.idle_ms, "save the checkpoint when stdin pauses this long (default 200)")
      ->check(CLI::Range(1, 60000));

  CLI::App* sub = app.add_subcommand(
      "sub", "write messages as lines to stdout, or to COMMAND after --, acknowledging only what was handed on");
  add_common(sub, c, raw);
  add_retry(sub, c);
  sub->add_option("--group", c.group, "Kafka consumer group (each group gets all the data)");
  sub->add_option("--from", raw.from, "Kafka: where to start: committed (default), beginning or end")
      ->check(CLI::IsMember({"committed", "beginning", "end"}));
  sub->add_flag("--exit-at-end", c.exit_at_end, "exit once every partition (or the queue) is read to its end");
  sub->add_option("--prefetch", c.prefetch, "AMQP deliveries not yet acknowledged, at most (default 10000)")
      ->check(CLI::Range(1u, 65535u));
  sub->add_option("--bind", c.binds, "EXCHANGE[:ROUTING_KEY]: declare a durable queue bound to EXCHANGE (repeatable)");
  sub->add_flag("--declare", c.declare, "AMQP: declare the queue, durable (implied by --bind)");
  sub->add_flag("--auto-ack", c.auto_ack,
                "AMQP: the broker forgets each message as it sends it (benchmark baseline only: a crash loses "
                "messages)");

  CLI::App* lag = app.add_subcommand("lag", "print the backlog as one JSON line");
  add_common(lag, c, raw);
  lag->add_option("--group", c.group, "Kafka consumer group whose committed offsets to compare");
}

void resolve(CLI::App& app, Config& c, RawOptions& raw) {
  if (app.got_subcommand("pub")) c.mode = Mode::kPub;
  if (app.got_subcommand("sub")) c.mode = Mode::kSub;
  if (app.got_subcommand("lag")) c.mode = Mode::kLag;
  CLI::App* cmd = app.get_subcommands().front();
  auto given = [&](const char* name) { return cmd->get_option_no_throw(name) != nullptr && cmd->count(name) > 0; };

  c.url = parse_url(resolve_url_argument(raw.url));
  if (c.url.scheme != Scheme::kKafka && c.url.scheme != Scheme::kAmqp)
    fail(ErrorKind::kUsage, "expected a kafka:// or amqp:// URL, got " + c.url.redacted());
  c.kafka = c.url.scheme == Scheme::kKafka;
  c.key_given = given("--key");

  auto pick = [&](const char* flag, const std::string& value, const char* param) {
    if (given(flag)) return value;
    return std::string(c.url.param(param).value_or(""));
  };
  c.exchange = pick("--exchange", raw.exchange, "exchange");
  c.routing_key = pick("--routing-key", raw.routing_key, "routing_key");
  c.queue = pick("--queue", raw.queue, "queue");
  c.from = raw.from == "beginning" ? From::kBeginning : raw.from == "end" ? From::kEnd : From::kCommitted;

  auto only = [&](const char* what, bool ok, const char* flag) {
    if (!ok) fail(ErrorKind::kUsage, std::string(flag) + " is for " + what + " only");
  };
  if (c.kafka) {
    c.topic = c.url.path;
    if (c.topic.empty()) fail(ErrorKind::kUsage, "the Kafka URL names no topic: kafka://HOST:PORT/TOPIC");
    for (const char* f : {"--exchange", "--routing-key", "--queue", "--exchange-type", "--bind", "--window",
                          "--no-confirm", "--prefetch", "--auto-ack"})
      only("AMQP", !given(f), f);
    if (c.mode == Mode::kSub && c.group.empty()) {
      if (given("--from") && c.from == From::kCommitted) fail(ErrorKind::kUsage, "--from committed needs --group");
      if (!given("--from")) c.from = From::kBeginning;  // no group, no committed offsets: read everything
    }
    if (c.mode == Mode::kPub) check_durable_properties(c.properties);
  } else {
    for (const char* f : {"-X", "--partitions", "--group", "--from"}) only("Kafka", !given(f), f);
    if (c.mode == Mode::kPub) {
      if (c.exchange.empty() && c.queue.empty() && c.routing_key.empty())
        fail(ErrorKind::kUsage, "publishing to the default exchange needs --queue (or --exchange)");
      if (given("--routing-key") && c.key_given)
        fail(ErrorKind::kUsage, "--routing-key (a fixed key) and --key (a template) exclude each other");
    } else {
      if (c.queue.empty()) fail(ErrorKind::kUsage, "AMQP needs --queue (or ?queue= in the URL)");
    }
    if (c.no_confirm && !c.checkpoint.empty())
      fail(ErrorKind::kUsage, "--checkpoint needs confirms: drop --no-confirm");
  }
  if (c.max_message_bytes == 0) c.max_message_bytes = c.kafka ? kKafkaMaxMessage : kAmqpMaxMessage;
  if (c.mode != Mode::kSub && !c.command.empty()) fail(ErrorKind::kUsage, "a COMMAND after -- is for sub only");
}

}  // namespace rowpipe::mq
