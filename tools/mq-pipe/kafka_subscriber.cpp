// mq-pipe sub from Kafka: a consumer group member (or, without --group, a reader of every partition)
// that commits, per partition, the offset after the last message handed on.
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "cli/log.hpp"
#include "kafka_common.hpp"
#include "subscriber.hpp"

namespace rowpipe::mq {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kCommitEvery = std::chrono::seconds(1);

class KafkaSubscriber final : public Subscriber {
 public:
  explicit KafkaSubscriber(const Config& c) : c_(c), state_(c) {
    KafkaConf conf = state_.base_conf();
    // Without --group the partitions are assigned, not subscribed: the group id only names this
    // reader, which never joins a group nor commits.
    set_property(conf.get(), "group.id", c.group.empty() ? "rowpipe-mq-pipe-reader" : c.group);
    set_property(conf.get(), "enable.auto.commit", "false");
    set_property(conf.get(), "enable.auto.offset.store", "false");
    // A group without committed offsets starts at the beginning: each group gets all the data.
    set_property(conf.get(), "auto.offset.reset", c.from == From::kEnd ? "latest" : "earliest");
    if (c.exit_at_end) set_property(conf.get(), "enable.partition.eof", "true");
    rd_kafka_conf_set_rebalance_cb(conf.get(), &KafkaSubscriber::rebalanced);
    rd_kafka_conf_set_offset_commit_cb(conf.get(), &KafkaSubscriber::committed);
    apply_properties(conf.get(), c.properties);
    state_.owner = this;
    rk_ = create_kafka(RD_KAFKA_CONSUMER, std::move(conf));
    check_kafka(rd_kafka_poll_set_consumer(rk_.get()), "Kafka consumer");
    queue_.reset(rd_kafka_queue_get_consumer(rk_.get()));
    wake_.attach(queue_.get());
    if (!c.group.empty()) {
      KafkaPartitions topics(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(topics.get(), c.topic.c_str(), RD_KAFKA_PARTITION_UA);
      check_kafka(rd_kafka_subscribe(rk_.get(), topics.get()), "subscribing to " + c.target());
    } else {
      assign_all();
    }
  }

  ~KafkaSubscriber() override { state_.owner = nullptr; }

  size_t fetch(size_t max, const OnMessage& on_message) override {
    wake_.drain();
    size_t n = 0;
    more_ = false;
    while (n < max) {
      KafkaMessage msg(rd_kafka_consumer_poll(rk_.get(), 0));
      state_.check_fatal(rk_.get());
      if (!msg) break;
      if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        eof_.insert(msg->partition);
        continue;
      }
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        consumer_error(msg.get());
        continue;
      }
      eof_.erase(msg->partition);
      if (stopped_) continue;  // not handed on, not committed: it comes again
      Mark mark{msg->partition, epoch_of(msg->partition), static_cast<uint64_t>(msg->offset)};
      on_message(std::string_view(static_cast<const char*>(msg->payload), msg->len), mark);
      ++n;
    }
    if (failure_) throw *failure_;
    more_ = !stopped_ && n == max;
    return n;
  }

  void stop() override {
    pause(true);
    stopped_ = true;
  }

  int fd() const override { return wake_.fd(); }
  bool more() const override { return more_; }
  int wait_ms() const override { return 200; }

  void pause(bool paused) override {
    if (paused == paused_) return;
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_assignment(rk_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
    KafkaPartitions assigned(raw);
    if (paused)
      rd_kafka_pause_partitions(rk_.get(), assigned.get());
    else
      rd_kafka_resume_partitions(rk_.get(), assigned.get());
    paused_ = paused;
  }

  void done(const Mark& mark) override {
    if (c_.group.empty()) return;
    auto it = assigned_.find(mark.lane);
    if (it == assigned_.end() || it->second != mark.epoch) return;  // revoked since: no longer ours
    int64_t next = static_cast<int64_t>(mark.id) + 1;
    int64_t& slot = done_[mark.lane];
    if (next > slot) slot = next;
  }

  void commit(bool now) override {
    if (c_.group.empty() || dirty() == 0) return;
    if (!now && Clock::now() - last_commit_ < kCommitEvery) return;
    commit_partitions(nullptr, !now);
  }

  bool at_end() override {
    if (!c_.exit_at_end || assigned_.empty() || more_) return false;
    for (const auto& [partition, epoch] : assigned_)
      if (eof_.count(partition) == 0) return false;
    return true;
  }

  std::string describe(const Mark& mark) const override {
    return "topic " + c_.topic + " partition " + std::to_string(mark.lane) + " offset " + std::to_string(mark.id);
  }

  void close() override {
    if (!rk_) return;
    // The last commit matters (nothing follows to cover it): every done offset again, synchronously
    // (an asynchronous commit still in flight may yet fail). While the coordinator is away or has
    // forgotten us (a broker restart), serve the consumer so that it rejoins, and try again.
    auto deadline = Clock::now() + std::chrono::seconds(c_.timeout_s);
    while (!c_.group.empty() && (!done_.empty() || !orphaned_.empty())) {
      // Revoked in a rejoin: wait for the partitions to come back (restore_orphans).
      rd_kafka_resp_err_t err = done_.empty() ? RD_KAFKA_RESP_ERR__STATE : commit_partitions(nullptr, false, true);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR && orphaned_.empty()) break;
      if ((err != RD_KAFKA_RESP_ERR_NO_ERROR && !rejoin_may_help(err)) || Clock::now() > deadline) {
        log::warning("the last offsets of " + c_.target() + " could not be committed (" + rd_kafka_err2str(err) +
                     "): those messages are delivered again");
        break;
      }
      // Messages received meanwhile are not handed on, so not committed: they come again.
      KafkaMessage(rd_kafka_consumer_poll(rk_.get(), 200));
    }
    // Leaves the group at once (instead of after session.timeout.ms), so a restart is quick.
    check_kafka(rd_kafka_consumer_close(rk_.get()), "leaving the consumer group");
  }

 private:
  uint32_t epoch_of(int32_t partition) const {
    auto it = assigned_.find(partition);
    return it == assigned_.end() ? 0 : it->second;
  }

  size_t dirty() const {
    size_t n = 0;
    for (const auto& [partition, next] : done_) {
      auto it = committed_.find(partition);
      if (it == committed_.end() || next > it->second) ++n;
    }
    return n;
  }

  // Commits the done offsets (of `only` partitions when given).
  rd_kafka_resp_err_t commit_partitions(const rd_kafka_topic_partition_list_t* only, bool async, bool all = false) {
    KafkaPartitions list(rd_kafka_topic_partition_list_new(static_cast<int>(done_.size())));
    for (const auto& [partition, next] : done_) {
      if (only != nullptr && rd_kafka_topic_partition_list_find(only, c_.topic.c_str(), partition) == nullptr) continue;
      auto it = committed_.find(partition);
      if (!all && it != committed_.end() && it->second >= next) continue;
      rd_kafka_topic_partition_list_add(list.get(), c_.topic.c_str(), partition)->offset = next;
    }
    if (list->cnt == 0) return RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), list.get(), async ? 1 : 0);
    last_commit_ = Clock::now();
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Not fatal: the next commit covers these offsets too; at worst they are delivered again.
      log::warning(std::string("committing offsets of ") + c_.target() + ": " + rd_kafka_err2str(err));
      return err;
    }
    // Optimistic for an asynchronous commit: committed() takes it back if it fails.
    for (int i = 0; i < list->cnt; ++i) committed_[list->elems[i].partition] = list->elems[i].offset;
    return err;
  }

  void consumer_error(const rd_kafka_message_t* msg) {
    ErrorKind kind = kafka_error_kind(msg->err);
    std::string text = rd_kafka_message_errstr(msg);
    if (kind == ErrorKind::kUnavailable) {
      log::warning("Kafka: " + text + " (retrying)");
      return;
    }
    failure_ = Error(kind, "consuming from " + c_.target() + ": " + text);
  }

  // Without a group: every partition of the topic, from --from.
  void assign_all() {
    KafkaTopic topic(rd_kafka_topic_new(rk_.get(), c_.topic.c_str(), nullptr));
    KafkaMetadata md = topic_metadata(rk_.get(), topic.get(), static_cast<int>(c_.timeout_s * 1000));
    KafkaPartitions list(rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt));
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
      int32_t p = md->topics[0].partitions[i].id;
      rd_kafka_topic_partition_list_add(list.get(), c_.topic.c_str(), p)->offset =
          c_.from == From::kEnd ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
      assigned_[p] = ++epochs_;
    }
    check_kafka(rd_kafka_assign(rk_.get(), list.get()), "assigning the partitions of " + c_.target());
  }

  static bool rejoin_may_help(rd_kafka_resp_err_t err) {
    return kafka_error_kind(err) == ErrorKind::kUnavailable || err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
           err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || err == RD_KAFKA_RESP_ERR__STATE;
  }

  // Offsets handed on but not committed when their partition was revoked (a commit failing during a
  // rebalance, as after a broker restart) are ours to commit again if the partition comes back and
  // the group has not moved past them meanwhile.
  void restore_orphans(const rd_kafka_topic_partition_list_t* partitions) {
    KafkaPartitions list(rd_kafka_topic_partition_list_new(partitions->cnt));
    for (int i = 0; i < partitions->cnt; ++i)
      if (orphaned_.count(partitions->elems[i].partition) != 0)
        rd_kafka_topic_partition_list_add(list.get(), c_.topic.c_str(), partitions->elems[i].partition);
    if (list->cnt == 0) return;
    bool known =
        rd_kafka_committed(rk_.get(), list.get(), static_cast<int>(c_.timeout_s * 1000)) == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = list->elems[i];
      auto it = orphaned_.find(tp.partition);
      if (known && tp.err == RD_KAFKA_RESP_ERR_NO_ERROR && tp.offset < it->second) done_[tp.partition] = it->second;
      orphaned_.erase(it);
    }
  }

  void on_assign(rd_kafka_topic_partition_list_t* partitions) {
    for (int i = 0; i < partitions->cnt; ++i) {
      rd_kafka_topic_partition_t& tp = partitions->elems[i];
      // --from beginning/end applies to a partition's first assignment in this run only.
      if (started_.insert(tp.partition).second && c_.from != From::kCommitted)
        tp.offset = c_.from == From::kBeginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
      assigned_[tp.partition] = ++epochs_;
      eof_.erase(tp.partition);
    }
    if (c_.verbose) log::info("assigned " + std::to_string(partitions->cnt) + " partitions of " + c_.target());
    if (cooperative())
      check_kafka(rd_kafka_incremental_assign(rk_.get(), partitions), "assigning partitions");
    else
      check_kafka(rd_kafka_assign(rk_.get(), partitions), "assigning partitions");
    if (paused_) rd_kafka_pause_partitions(rk_.get(), partitions);
    if (!orphaned_.empty()) restore_orphans(partitions);
  }

  void on_revoke(rd_kafka_topic_partition_list_t* partitions) {
    // What was handed on is committed now; lines still with COMMAND are delivered to the new owner
    // again (the sinks absorb the duplicates).
    rd_kafka_resp_err_t err = commit_partitions(partitions, false);
    for (int i = 0; i < partitions->cnt; ++i) {
      int32_t p = partitions->elems[i].partition;
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && done_.count(p) != 0) orphaned_[p] = done_[p];
      assigned_.erase(p);
      done_.erase(p);
      committed_.erase(p);
      eof_.erase(p);
    }
    if (c_.verbose) log::info("revoked " + std::to_string(partitions->cnt) + " partitions of " + c_.target());
    if (cooperative())
      check_kafka(rd_kafka_incremental_unassign(rk_.get(), partitions), "unassigning partitions");
    else
      check_kafka(rd_kafka_assign(rk_.get(), nullptr), "unassigning partitions");
  }

  bool cooperative() const { return std::string_view(rd_kafka_rebalance_protocol(rk_.get())) == "COOPERATIVE"; }

  // Rebalances run on our thread, inside rd_kafka_consumer_poll(); C callbacks must not throw.
  static void rebalanced(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                         void* opaque) {
    auto* self = static_cast<KafkaSubscriber*>(static_cast<KafkaState*>(opaque)->owner);
    try {
      if (self == nullptr) {
        rd_kafka_assign(rk, nullptr);
      } else if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        self->on_assign(partitions);
      } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        self->on_revoke(partitions);
      } else {
        log::warning(std::string("rebalance failed: ") + rd_kafka_err2str(err));
        rd_kafka_assign(rk, nullptr);
      }
    } catch (const Error& e) {
      if (self != nullptr && !self->failure_) self->failure_ = e;
    }
  }

  // The outcome of a commit (on our thread): a failed one is made again later.
  static void committed(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                        void* opaque) {
    auto* self = static_cast<KafkaSubscriber*>(static_cast<KafkaState*>(opaque)->owner);
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET || self == nullptr || offsets == nullptr) return;
    bool failed = false;
    for (int i = 0; i < offsets->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = offsets->elems[i];
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR && tp.err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      failed = true;
      auto it = self->committed_.find(tp.partition);
      if (it != self->committed_.end() && it->second == tp.offset) self->committed_.erase(it);
    }
    if (failed && self->c_.verbose)
      log::info(std::string("an offset commit failed (") + rd_kafka_err2str(err) + "); it is made again");
  }

  const Config& c_;
  KafkaState state_;
  WakePipe wake_;
  KafkaClient rk_;
  KafkaQueue queue_;
  std::map<int32_t, uint32_t> assigned_;  // partition -> epoch of its current assignment
  std::map<int32_t, int64_t> done_;       // partition -> offset after the last message handed on
  std::map<int32_t, int64_t> committed_;  // partition -> offset last committed
  std::map<int32_t, int64_t> orphaned_;   // partition -> done offset a failed commit left behind
  std::set<int32_t> eof_;                 // partitions read to their end
  std::set<int32_t> started_;             // partitions assigned at least once in this run
  uint32_t epochs_ = 0;
  bool paused_ = false;
  bool stopped_ = false;
  bool more_ = false;
  std::optional<Error> failure_;
  Clock::time_point last_commit_{};
};

}  // namespace

std::unique_ptr<Subscriber> make_kafka_subscriber(const Config& c) { return std::make_unique<KafkaSubscriber>(c); }

}  // namespace rowpipe::mq
