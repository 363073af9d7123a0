// MongoDB through libmongoc 1.23: process-wide init, RAII handles, connecting from a URL, errors mapped
// to kinds.
#pragma once

#include <mongoc/mongoc.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/error.hpp"
#include "clients/handle.hpp"
#include "clients/url.hpp"

namespace rowpipe {

using MongoUri = Handle<mongoc_uri_t, mongoc_uri_destroy>;
using MongoClient = Handle<mongoc_client_t, mongoc_client_destroy>;
using MongoDatabase = Handle<mongoc_database_t, mongoc_database_destroy>;
using MongoCollection = Handle<mongoc_collection_t, mongoc_collection_destroy>;
using MongoBulk = Handle<mongoc_bulk_operation_t, mongoc_bulk_operation_destroy>;
using MongoCursor = Handle<mongoc_cursor_t, mongoc_cursor_destroy>;

// Process-wide mongoc_init/mongoc_cleanup: one object in main, before any client.
class MongoLibrary {
 public:
  MongoLibrary();
  ~MongoLibrary();
  MongoLibrary(const MongoLibrary&) = delete;
  MongoLibrary& operator=(const MongoLibrary&) = delete;
};

// A bson_t owned by a scope (on the stack or as a member), reusable with reset(): libbson's inline
// storage keeps small documents off the heap. Not movable: libbson documents hold pointers to
// themselves.
class Bson {
 public:
  Bson() { bson_init(&doc_); }
  ~Bson() { bson_destroy(&doc_); }
  Bson(const Bson&) = delete;
  Bson& operator=(const Bson&) = delete;

  bson_t* get() { return &doc_; }
  const bson_t* get() const { return &doc_; }
  // Empties the document for reuse. Not before passing it as a libmongoc reply: those initialise
  // their reply afresh, and a buffer kept by reset() would leak.
  void reset() { bson_reinit(&doc_); }
  const uint8_t* data() const { return bson_get_data(&doc_); }
  size_t size() const { return doc_.len; }
  std::string_view bytes() const { return {reinterpret_cast<const char*>(data()), size()}; }

 private:
  bson_t doc_;
};

// A read-only bson_t over bytes someone else keeps alive (a document stored in an arena).
inline bool bson_view(bson_t& view, std::string_view bytes) {
  return bson_init_static(&view, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

struct MongoOptions {
  std::string password_file;                 // see resolve_password (URL, file, MONGO_PASSWORD)
  std::chrono::milliseconds timeout{60000};  // connect, server selection and every reply
  std::string app_name;                      // shown by the server (currentOp, logs)
};

// What the server says about itself.
struct MongoServerInfo {
  std::string version;           // buildInfo.version ("7.0.42")
  std::string ferretdb_version;  // buildInfo.ferretdbVersion: set when the server is FerretDB
  int64_t max_bson_size = int64_t{16} * 1024 * 1024;
  int64_t max_write_batch = 100000;

  bool is_ferretdb() const { return !ferretdb_version.empty(); }
  // "MongoDB 7.0.14" or "FerretDB v1.24.2".
  std::string describe() const;
};

// A client for `url` (mongodb://... as libmongoc parses it; the password from resolve_password when the
// URL names a user without one), error API version 2 (server errors carry the server's codes). Nothing
// is sent yet: call server_info() to find out whether the server answers.
// Throws Error(kUsage) for a URL libmongoc refuses, naming it redacted.
MongoClient connect_mongo(const Url& url, const MongoOptions& options = {});

// hello and buildInfo. Throws Error (mongo_error_kind) naming the redacted URL.
MongoServerInfo server_info(mongoc_client_t* client, const Url& url);

// The category of a libmongoc error: network, server selection, shutdown, primary stepdown, write
// conflicts and timeouts -> kUnavailable; authentication and authorization -> kPermission; unknown or
// unsupported commands -> kConfig; a malformed reply -> kProtocol; anything else the server refuses
// (bad value, document too large, duplicate key, invalid namespace) -> kData.
ErrorKind mongo_error_kind(const bson_error_t& error) noexcept;
// The category of a server error code (write errors, command errors), as above.
ErrorKind mongo_server_error_kind(int64_t code) noexcept;

// Throws Error(mongo_error_kind(error)) with "context: libmongoc's message".
[[noreturn]] void throw_mongo_error(const bson_error_t& error, std::string_view context);

// A document as canonical extended JSON (for messages and tests).
std::string bson_to_json(const bson_t* doc);

}  // namespace rowpipe
