// mq-pipe pub to RabbitMQ: persistent messages, publisher confirms in a window with multiple-acks,
// reconnection with the unconfirmed tail published again.
#include <poll.h>

#include <deque>
#include <string>

#include "amqp_setup.hpp"
#include "cli/log.hpp"
#include "publisher.hpp"

namespace rowpipe::mq {
namespace {

class AmqpPublisher final : public Publisher {
 public:
  AmqpPublisher(const Config& c, ConfirmWindow& window)
      : c_(c), window_(window), backoff_(std::chrono::seconds(c.retry_for_s)) {
    routing_fixed_ = !c.routing_key.empty() || (c.exchange.empty() && !c.queue.empty());
    fixed_key_ = !c.routing_key.empty() ? c.routing_key : c.queue;
    connect();  // a first failure only starts the retries: lines wait in the buffer meanwhile
    if (!conn_) log::warning("cannot reach " + c_.url.redacted() + ": " + backoff_.last_error() + "; retrying");
  }

  void publish(uint64_t seq, std::string_view key, std::string_view body) override {
    queued_.push_back(
        Pending{seq, std::string(routing_fixed_ ? std::string_view(fixed_key_) : key), std::string(body)});
    // A full window waits for confirms: take those already arrived (without blocking), so that
    // publishing and the checkpoint keep pace with the broker, not with --max-buffer.
    if (conn_ && !c_.no_confirm && sent_.size() >= c_.window) read_frames(0, -1);
    pump();
  }

  bool has_room() const override { return sent_.size() + queued_.size() < c_.max_buffer; }
  uint64_t outstanding() const override { return sent_.size() + queued_.size(); }

  void poll(int timeout_ms, int input_fd) override {
    if (!conn_) {
      if (backoff_.expired()) give_up();
      int wait = std::min(timeout_ms, backoff_.wait_ms());
      if (wait > 0) wait_for(-1, input_fd, wait);
      if (backoff_.due()) connect();
      return;
    }
    if (!sent_.empty() && Clock::now() - last_progress_ > std::chrono::seconds(c_.retry_for_s))
      fail(ErrorKind::kUnavailable, "no publisher confirms from " + c_.url.redacted() + " for " +
                                        std::to_string(c_.retry_for_s) + " s (is the broker blocked by an alarm?)");
    read_frames(timeout_ms, input_fd);
    pump();
  }

  void close() override {
    if (!conn_) return;
    close_amqp(conn_.get());
    conn_.reset();
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    uint64_t seq;
    std::string key;
    std::string body;
    bool acked = false;
  };

  void connect() {
    try {
      conn_ = connect_amqp(c_.url, amqp_options(c_));
      if (c_.declare) {
        if (!c_.exchange.empty()) declare_exchange(conn_.get(), c_.exchange, c_.exchange_type);
        if (!c_.queue.empty()) {
          declare_queue(conn_.get(), c_.queue, false);
          if (!c_.exchange.empty()) {
            std::string key = c_.routing_key.empty() ? default_binding_key(c_.exchange_type) : c_.routing_key;
            bind_queue(conn_.get(), c_.queue, c_.exchange, key);
          }
        }
      }
      if (!c_.no_confirm && amqp_confirm_select(conn_.get(), kAmqpChannel) == nullptr)
        throw_amqp_rpc_error(conn_.get(), "enabling publisher confirms");
    } catch (const Error& e) {
      conn_.reset();
      if (e.kind() != ErrorKind::kUnavailable) throw;
      backoff_.failed(e.what());
      return;
    }
    if (backoff_.down() && reconnecting_)
      log::notice("reconnected to " + c_.url.redacted() + "; publishing " + std::to_string(queued_.size()) +
                  " unconfirmed messages again");
    else if (c_.verbose)
      log::info("connected to " + c_.url.redacted());
    backoff_.succeeded();
    next_tag_ = 1;
    last_progress_ = Clock::now();
    pump();
  }

  // The connection is gone: everything not confirmed is published again on the next one.
  void lost(const std::string& why) {
    conn_.reset();
    reconnecting_ = true;
    log::warning("connection to " + c_.url.redacted() + " lost (" + why + "); " +
                 std::to_string(sent_.size() + queued_.size()) + " unconfirmed messages wait for the reconnect");
    while (!sent_.empty()) {
      if (!sent_.back().acked) queued_.push_front(std::move(sent_.back()));
      sent_.pop_back();
    }
    backoff_.failed(why);
  }

  [[noreturn]] void give_up() {
    fail(ErrorKind::kUnavailable, "broker " + c_.url.redacted() + " unreachable for " +
                                      std::to_string(backoff_.down_for_s()) + " s (--retry-for " +
                                      std::to_string(c_.retry_for_s) + "): " + backoff_.last_error());
  }

  // Publishes queued messages while the window has room.
  void pump() {
    static const amqp_basic_properties_t kPersistent = [] {
      amqp_basic_properties_t p{};
      p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
      p.delivery_mode = 2;
      return p;
    }();
    while (conn_ && !queued_.empty() && (c_.no_confirm || sent_.size() < c_.window)) {
      Pending& m = queued_.front();
      int status = amqp_basic_publish(conn_.get(), kAmqpChannel, amqp_view(c_.exchange), amqp_view(m.key), 1, 0,
                                      &kPersistent, amqp_view(m.body));
      if (status != AMQP_STATUS_OK) {
        lost(amqp_error_string2(status));
        return;
      }
      if (c_.no_confirm) {
        window_.confirm(m.seq);
        queued_.pop_front();
        continue;
      }
      if (sent_.empty()) last_progress_ = Clock::now();
      sent_.push_back(std::move(m));
      queued_.pop_front();
      ++next_tag_;
    }
  }

  void wait_for(int sock, int input_fd, int timeout_ms) {
    pollfd fds[2];
    nfds_t n = 0;
    if (sock >= 0) fds[n++] = pollfd{sock, POLLIN, 0};
    if (input_fd >= 0) fds[n++] = pollfd{input_fd, POLLIN, 0};
    ::poll(fds, n, timeout_ms);
  }

  void read_frames(int timeout_ms, int input_fd) {
    amqp_connection_state_t conn = conn_.get();
    if (!amqp_frames_enqueued(conn) && !amqp_data_in_buffer(conn) && timeout_ms > 0)
      wait_for(amqp_get_sockfd(conn), input_fd, timeout_ms);
    for (;;) {
      timeval zero{0, 0};
      amqp_frame_t frame;
      int status = amqp_simple_wait_frame_noblock(conn, &frame, &zero);
      if (status == AMQP_STATUS_TIMEOUT) break;
      if (status != AMQP_STATUS_OK) {
        lost(amqp_error_string2(status));
        return;
      }
      if (!handle(frame)) return;
    }
    amqp_maybe_release_buffers(conn);
  }

  // False when the connection was lost.
  bool handle(const amqp_frame_t& frame) {
    if (frame.frame_type != AMQP_FRAME_METHOD) return true;
    amqp_connection_state_t conn = conn_.get();
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
        acked(ack->delivery_tag, ack->multiple != 0);
        return true;
      }
      case AMQP_BASIC_NACK_METHOD: {
        const auto* nack = static_cast<const amqp_basic_nack_t*>(frame.payload.method.decoded);
        uint64_t first = next_tag_ - sent_.size();
        uint64_t seq =
            nack->delivery_tag >= first && nack->delivery_tag < next_tag_ ? sent_[nack->delivery_tag - first].seq : 0;
        fail(ErrorKind::kUnavailable,
             "the broker refused (basic.nack) the message of stdin:" + std::to_string(seq) + " on " + c_.target());
      }
      case AMQP_BASIC_RETURN_METHOD: {
        const auto* ret = static_cast<const amqp_basic_return_t*>(frame.payload.method.decoded);
        std::string key(amqp_text(ret->routing_key));
        std::string text(amqp_text(ret->reply_text));
        amqp_message_t content;
        amqp_rpc_reply_t r = amqp_read_message(conn, frame.channel, &content, 0);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) amqp_destroy_message(&content);
        fail(ErrorKind::kConfig, "a message to " + c_.target() + " with routing key \"" + key +
                                     "\" was returned unroutable (" + text +
                                     "): no queue is bound for it (declare one: --declare --queue, or mq-pipe sub "
                                     "--bind)");
      }
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD:
        lost("closed by the broker: " + answer_close(conn, frame, "publishing to " + c_.target()));
        return false;
      case AMQP_CONNECTION_BLOCKED_METHOD:
        log::warning("the broker blocks publishers (resource alarm); waiting");
        return true;
      case AMQP_CONNECTION_UNBLOCKED_METHOD: log::notice("the broker accepts publishers again"); return true;
      default: return true;
    }
  }

  void acked(uint64_t tag, bool multiple) {
    uint64_t first = next_tag_ - sent_.size();
    if (tag < first || tag >= next_tag_) return;
    if (multiple) {
      for (uint64_t t = first; t <= tag; ++t) {
        Pending& m = sent_[t - first];
        if (!m.acked) window_.confirm(m.seq);
        m.acked = true;
      }
    } else {
      Pending& m = sent_[tag - first];
      if (!m.acked) window_.confirm(m.seq);
      m.acked = true;
    }
    while (!sent_.empty() && sent_.front().acked) sent_.pop_front();
    last_progress_ = Clock::now();
  }

  const Config& c_;
  ConfirmWindow& window_;
  Backoff backoff_;
  AmqpConnection conn_;
  bool reconnecting_ = false;
  bool routing_fixed_ = false;
  std::string fixed_key_;
  std::deque<Pending> sent_;    // published on this channel, not yet confirmed; tags next_tag_-size..
  std::deque<Pending> queued_;  // not yet published
  uint64_t next_tag_ = 1;       // delivery tag of the next publish on this channel
  Clock::time_point last_progress_ = Clock::now();
};

}  // namespace

std::unique_ptr<Publisher> make_amqp_publisher(const Config& c, ConfirmWindow& window) {
  return std::make_unique<AmqpPublisher>(c, window);
}

}  // namespace rowpipe::mq
