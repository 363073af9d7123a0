// mq-pipe pub to Kafka: an idempotent acks=all producer; delivery reports confirm lines.
#include <optional>

#include "cli/log.hpp"
#include "kafka_common.hpp"
#include "publisher.hpp"

namespace rowpipe::mq {
namespace {

class KafkaPublisher final : public Publisher {
 public:
  KafkaPublisher(const Config& c, ConfirmWindow& window) : c_(c), window_(window), state_(c) {
    KafkaConf conf = state_.base_conf();
    set_property(conf.get(), "enable.idempotence", "true");
    set_property(conf.get(), "acks", "all");
    // A message that cannot be delivered within --retry-for fails: that is "unreachable for good".
    set_property(conf.get(), "message.timeout.ms", std::to_string(uint64_t{c.retry_for_s} * 1000));
    set_property(conf.get(), "queue.buffering.max.messages",
                 std::to_string(std::min<uint64_t>(c.max_buffer, 2147483647)));
    set_property(conf.get(), "message.max.bytes",
                 std::to_string(std::max<uint64_t>(1'000'000, c.max_message_bytes + 4096)));
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaPublisher::delivered);
    apply_properties(conf.get(), c.properties);
    state_.owner = this;
    rk_ = create_kafka(RD_KAFKA_PRODUCER, std::move(conf));
    KafkaQueue main(rd_kafka_queue_get_main(rk_.get()));
    wake_.attach(main.get());
    if (c.declare) create_topic(rk_.get(), c.topic, c.partitions, static_cast<int>(c.timeout_s * 1000));
    topic_.reset(rd_kafka_topic_new(rk_.get(), c.topic.c_str(), nullptr));
    if (!topic_) throw_kafka_error(rd_kafka_last_error(), "topic " + c.topic);
  }

  ~KafkaPublisher() override {
    // Undelivered messages are dropped here only on an error path; the caller drained otherwise.
    if (rk_) rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    state_.owner = nullptr;
  }

  void publish(uint64_t seq, std::string_view key, std::string_view body) override {
    for (;;) {
      rd_kafka_resp_err_t err =
          rd_kafka_producev(rk_.get(), RD_KAFKA_V_RKT(topic_.get()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_VALUE(const_cast<char*>(body.data()), body.size()),
                            RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
                            RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(seq))), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) throw_kafka_error(err, "publishing stdin:" + std::to_string(seq));
      rd_kafka_poll(rk_.get(), 10);  // librdkafka's own queue is full: let deliveries drain it
      check();
    }
    ++outstanding_;
    if ((outstanding_ & 63) == 0) serve();
  }

  bool has_room() const override { return outstanding_ < c_.max_buffer; }
  uint64_t outstanding() const override { return outstanding_; }

  void poll(int timeout_ms, int input_fd) override {
    serve();
    if (timeout_ms > 0) {
      wait_readable(wake_.fd(), input_fd, timeout_ms);
      serve();
    }
  }

  void close() override {
    // Everything is confirmed by now; nothing left to flush.
    check();
  }

 private:
  void serve() {
    wake_.drain();
    rd_kafka_poll(rk_.get(), 0);
    check();
  }

  void check() {
    state_.check_fatal(rk_.get());
    if (failure_) throw *failure_;
  }

  // Delivery reports run on our thread, inside rd_kafka_poll().
  static void delivered(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* opaque) {
    auto* self = static_cast<KafkaPublisher*>(static_cast<KafkaState*>(opaque)->owner);
    if (self == nullptr) return;
    auto seq = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(msg->_private));
    --self->outstanding_;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->window_.confirm(seq);
      return;
    }
    if (self->failure_) return;
    std::string why = rd_kafka_err2str(msg->err);
    if (msg->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT) {
      why = "not delivered within --retry-for " + std::to_string(self->c_.retry_for_s) + " s";
      if (!self->state_.last_error().empty()) why += " (" + self->state_.last_error() + ")";
    }
    self->failure_ = Error(kafka_error_kind(msg->err),
                           "delivering stdin:" + std::to_string(seq) + " to " + self->c_.target() + ": " + why);
  }

  const Config& c_;
  ConfirmWindow& window_;
  KafkaState state_;
  WakePipe wake_;
  KafkaClient rk_;
  KafkaTopic topic_;
  uint64_t outstanding_ = 0;
  std::optional<Error> failure_;
};

}  // namespace

std::unique_ptr<Publisher> make_kafka_publisher(const Config& c, ConfirmWindow& window) {
  return std::make_unique<KafkaPublisher>(c, window);
}

}  // namespace rowpipe::mq
