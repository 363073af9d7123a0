// The Redis instances of a run and which one each key goes to: --route and map targets per table,
// else a libketama ring over several --redis URLs, else the one --redis.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "event/ketama.hpp"
#include "event/map_file.hpp"
#include "link.hpp"
#include "mapper.hpp"

namespace rowpipe::redis_sink {

class Destinations {
 public:
  // Creates (does not connect) one Link per distinct instance named by --redis, --route and the map
  // file's targets. Throws Error(kUsage) for a malformed --route or URL.
  Destinations(const Config& config, const MapFile* map, const LinkOptions& options);

  const std::vector<std::unique_ptr<Link>>& links() const { return links_; }

  // Sets t.route from --route (which wins) or the map entry's target.
  void route(TableInfo& t) const;

  Link& for_key(const TableInfo& t, std::string_view key) const {
    if (t.route != nullptr) return *t.route;
    if (ring_) return *ring_links_[ring_->server_for(key)];
    return *ring_links_.front();
  }
  // The instances that can hold keys of `t`.
  std::vector<Link*> for_table(const TableInfo& t) const;

 private:
  Link* add(const std::string& argument, const LinkOptions& options);

  struct Route {
    std::string pattern;  // db.table or db.*
    Link* link;
  };
  std::vector<std::unique_ptr<Link>> links_;
  std::vector<Link*> ring_links_;
  std::optional<KetamaRing> ring_;
  std::vector<Route> routes_;      // --route
  std::vector<Route> map_routes_;  // the map file's targets (pattern: the target as written)
};

// The "target" members of a map file, by entry pattern (the shared MapFile has no iteration).
std::vector<std::pair<std::string, std::string>> map_targets(const std::string& path);

}  // namespace rowpipe::redis_sink
