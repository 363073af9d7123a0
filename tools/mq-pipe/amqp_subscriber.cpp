// mq-pipe sub from RabbitMQ: one consumer with manual acks and a prefetch window; multiple-acks up to
// the last delivery handed on; reconnection (unacknowledged deliveries come again).
#include <chrono>
#include <string>

#include "amqp_setup.hpp"
#include "cli/log.hpp"
#include "subscriber.hpp"

namespace rowpipe::mq {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kEndCheckAfter = std::chrono::milliseconds(100);

class AmqpSubscriber final : public Subscriber {
 public:
  explicit AmqpSubscriber(const Config& c) : c_(c), backoff_(std::chrono::seconds(c.retry_for_s)) {
    connect();
    if (!conn_) log::warning("cannot reach " + c_.url.redacted() + ": " + backoff_.last_error() + "; retrying");
  }

  size_t fetch(size_t max, const OnMessage& on_message) override {
    more_ = false;
    if (!conn_) {
      if (backoff_.expired()) give_up();
      if (backoff_.due()) connect();
      if (!conn_) return 0;
    }
    if (paused_) return 0;
    amqp_connection_state_t conn = conn_.get();
    size_t n = 0;
    if (stopped_) max = SIZE_MAX;  // drain the deliveries still coming: dropped below
    while (n < max) {
      amqp_envelope_t env;
      timeval zero{0, 0};
      amqp_maybe_release_buffers(conn);
      amqp_rpc_reply_t r = amqp_consume_message(conn, &env, &zero, 0);
      if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        Mark mark{0, generation_, env.delivery_tag};
        if (stopped_) {
          // Never acknowledged: every acknowledgement covers only tags handed on before stop().
          amqp_destroy_envelope(&env);
          continue;
        }
        try {
          on_message(amqp_text(env.message.body), mark);
        } catch (...) {
          amqp_destroy_envelope(&env);
          throw;
        }
        amqp_destroy_envelope(&env);
        ++n;
        last_delivery_ = Clock::now();
        end_checks_ = 0;
        continue;
      }
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) break;
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        if (!other_frame()) return n;
        continue;
      }
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        lost(amqp_error_string2(r.library_error));
        return n;
      }
      check_amqp_reply(r, "consuming from " + c_.target());
    }
    more_ = !stopped_ && (n == max || amqp_frames_enqueued(conn) || amqp_data_in_buffer(conn));
    return n;
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    if (!conn_ || consumer_tag_.empty()) return;
    if (amqp_basic_cancel(conn_.get(), kAmqpChannel, amqp_view(consumer_tag_)) == nullptr) {
      amqp_rpc_reply_t r = amqp_get_rpc_reply(conn_.get());
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
        lost(amqp_error_string2(r.library_error));
      else
        check_amqp_reply(r, "cancelling the consumer of " + c_.target());
    }
  }

  int fd() const override { return conn_ && !paused_ ? amqp_get_sockfd(conn_.get()) : -1; }
  bool more() const override { return more_; }
  int wait_ms() const override {
    if (!conn_) return std::max(1, backoff_.wait_ms());
    return c_.exit_at_end ? static_cast<int>(kEndCheckAfter.count()) : 200;
  }
  void pause(bool paused) override { paused_ = paused; }

  void done(const Mark& mark) override {
    if (mark.epoch != generation_ || c_.auto_ack) return;  // from a lost connection: delivered again
    done_tag_ = mark.id;
    ++done_since_ack_;
  }

  void commit(bool now) override {
    if (!conn_ || done_tag_ <= acked_tag_) return;
    // Batched: a quarter of the prefetch window, or 50 ms, whichever comes first.
    if (!now && done_since_ack_ < std::max(1u, c_.prefetch / 4) &&
        Clock::now() - last_ack_ < std::chrono::milliseconds(50))
      return;
    int status = amqp_basic_ack(conn_.get(), kAmqpChannel, done_tag_, 1);
    if (status != AMQP_STATUS_OK) {
      lost(amqp_error_string2(status));
      return;
    }
    acked_tag_ = done_tag_;
    done_since_ack_ = 0;
    last_ack_ = Clock::now();
  }

  bool at_end() override {
    if (!c_.exit_at_end || !conn_ || more_) return false;
    if (Clock::now() - last_delivery_ < kEndCheckAfter) return false;
    // The queue holds no ready message twice in a row with nothing delivered in between: a delivery
    // already on its way when the first check ran has arrived by the second.
    QueueState q = declare_queue(conn_.get(), c_.queue, true);
    last_delivery_ = Clock::now();
    if (q.messages != 0) {
      end_checks_ = 0;
      return false;
    }
    return ++end_checks_ >= 2;
  }

  std::string describe(const Mark& mark) const override {
    return "queue " + c_.queue + " delivery " + std::to_string(mark.id);
  }

  void close() override {
    if (!conn_) return;
    commit(true);
    close_amqp(conn_.get());
    conn_.reset();
  }

 private:
  void connect() {
    try {
      conn_ = connect_amqp(c_.url, amqp_options(c_));
      amqp_connection_state_t conn = conn_.get();
      if (c_.declare || !c_.binds.empty()) {
        declare_queue(conn, c_.queue, false);
      } else {
        declare_queue(conn, c_.queue, true);
      }
      for (const std::string& bind : c_.binds) {
        size_t colon = bind.find(':');
        std::string exchange = bind.substr(0, colon);
        std::string key = colon != std::string::npos ? bind.substr(colon + 1)
                          : !c_.routing_key.empty()  ? c_.routing_key
                                                     : default_binding_key(c_.exchange_type);
        declare_exchange(conn, exchange, c_.exchange_type);
        bind_queue(conn, c_.queue, exchange, key);
      }
      if (!c_.auto_ack && amqp_basic_qos(conn, kAmqpChannel, 0, static_cast<uint16_t>(c_.prefetch), 0) == nullptr)
        throw_amqp_rpc_error(conn, "setting the prefetch window");
      if (!stopped_) {
        amqp_basic_consume_ok_t* ok = amqp_basic_consume(conn, kAmqpChannel, amqp_view(c_.queue), amqp_empty_bytes, 0,
                                                         c_.auto_ack ? 1 : 0, 0, amqp_empty_table);
        if (ok == nullptr) throw_amqp_rpc_error(conn, "consuming from " + c_.target());
        consumer_tag_.assign(amqp_text(ok->consumer_tag));
      }
    } catch (const Error& e) {
      conn_.reset();
      if (e.kind() != ErrorKind::kUnavailable) throw;
      backoff_.failed(e.what());
      return;
    }
    if (backoff_.down() && generation_ > 0)
      log::notice("reconnected to " + c_.url.redacted() + "; unacknowledged messages are delivered again");
    else if (c_.verbose)
      log::info("consuming from " + c_.target() + " on " + c_.url.redacted());
    backoff_.succeeded();
    ++generation_;
    done_tag_ = acked_tag_ = 0;
    done_since_ack_ = 0;
    last_delivery_ = Clock::now();
    end_checks_ = 0;
  }

  void lost(const std::string& why) {
    conn_.reset();
    log::warning("connection to " + c_.url.redacted() + " lost (" + why +
                 "); reconnecting, the broker delivers what was not acknowledged again");
    backoff_.failed(why);
    more_ = false;
  }

  [[noreturn]] void give_up() {
    fail(ErrorKind::kUnavailable, "broker " + c_.url.redacted() + " unreachable for " +
                                      std::to_string(backoff_.down_for_s()) + " s (--retry-for " +
                                      std::to_string(c_.retry_for_s) + "): " + backoff_.last_error());
  }

  // A frame other than a delivery (consume_message said so). False when the connection was lost.
  bool other_frame() {
    amqp_connection_state_t conn = conn_.get();
    amqp_frame_t frame;
    timeval zero{0, 0};
    int status = amqp_simple_wait_frame_noblock(conn, &frame, &zero);
    if (status == AMQP_STATUS_TIMEOUT) return true;
    if (status != AMQP_STATUS_OK) {
      lost(amqp_error_string2(status));
      return false;
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) return true;
    switch (frame.payload.method.id) {
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD:
        lost("closed by the broker: " + answer_close(conn, frame, "consuming from " + c_.target()));
        return false;
      case AMQP_BASIC_CANCEL_METHOD:
        fail(ErrorKind::kConfig, "the broker cancelled the consumer of " + c_.target() + " (queue deleted?)");
      default: return true;
    }
  }

  const Config& c_;
  Backoff backoff_;
  AmqpConnection conn_;
  uint32_t generation_ = 0;  // connections made so far; marks of older ones cannot be acknowledged
  uint64_t done_tag_ = 0;    // last delivery handed on
  uint64_t acked_tag_ = 0;   // last delivery acknowledged to the broker
  unsigned done_since_ack_ = 0;
  bool paused_ = false;
  bool stopped_ = false;
  std::string consumer_tag_;
  bool more_ = false;
  int end_checks_ = 0;
  Clock::time_point last_ack_{};
  Clock::time_point last_delivery_ = Clock::now();
};

}  // namespace

std::unique_ptr<Subscriber> make_amqp_subscriber(const Config& c) { return std::make_unique<AmqpSubscriber>(c); }

}  // namespace rowpipe::mq
