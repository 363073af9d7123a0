// mongo-dump: test helper that reads MongoDB through the C driver, independently of jsonl-to-mongo.
//   mongo-dump URL DB[.COLLECTION]...   every document, one line each: "DB.COLLECTION JSON" (canonical
//                                       extended JSON, so every BSON type shows), lines sorted
//   mongo-dump --drop URL DB...         drops the databases
//   mongo-dump --count URL DB.COLLECTION   the number of documents
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "clients/mongo.hpp"

using namespace rowpipe;

namespace {

int usage() {
  std::fputs("usage: mongo-dump [--drop|--count] URL DB[.COLLECTION]...\n", stderr);
  return 64;
}

bool fail_with(const bson_error_t& e, const std::string& what) {
  std::fprintf(stderr, "mongo-dump: %s: %s\n", what.c_str(), e.message);
  return false;
}

bool dump_collection(mongoc_client_t* c, const std::string& db, const std::string& coll,
                     std::vector<std::string>& out) {
  MongoCollection col(mongoc_client_get_collection(c, db.c_str(), coll.c_str()));
  Bson filter;
  MongoCursor cursor(mongoc_collection_find_with_opts(col.get(), filter.get(), nullptr, nullptr));
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) out.push_back(db + "." + coll + " " + bson_to_json(doc));
  bson_error_t e;
  if (mongoc_cursor_error(cursor.get(), &e)) return fail_with(e, db + "." + coll);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string mode;
  if (!args.empty() && args[0].starts_with("--")) {
    mode = args[0];
    args.erase(args.begin());
  }
  if (args.size() < 2) return usage();
  MongoLibrary library;
  bson_error_t e;
  MongoClient client(mongoc_client_new(args[0].c_str()));
  if (!client) return usage();
  mongoc_client_set_error_api(client.get(), MONGOC_ERROR_API_VERSION_2);
  std::vector<std::string> lines;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& name = args[i];
    size_t dot = name.find('.');
    std::string db = name.substr(0, dot);
    if (mode == "--drop") {
      MongoDatabase d(mongoc_client_get_database(client.get(), db.c_str()));
      if (!mongoc_database_drop(d.get(), &e) && e.code != 26) return fail_with(e, "dropping " + db) ? 0 : 1;
      continue;
    }
    if (mode == "--count") {
      MongoCollection col(mongoc_client_get_collection(client.get(), db.c_str(), name.substr(dot + 1).c_str()));
      Bson filter;
      int64_t n = mongoc_collection_count_documents(col.get(), filter.get(), nullptr, nullptr, nullptr, &e);
      if (n < 0) return fail_with(e, name) ? 0 : 1;
      std::printf("%lld\n", static_cast<long long>(n));
      continue;
    }
    if (dot != std::string::npos) {
      if (!dump_collection(client.get(), db, name.substr(dot + 1), lines)) return 1;
      continue;
    }
    MongoDatabase d(mongoc_client_get_database(client.get(), db.c_str()));
    char** names = mongoc_database_get_collection_names_with_opts(d.get(), nullptr, &e);
    if (names == nullptr) return fail_with(e, "listing " + db) ? 0 : 1;
    std::vector<std::string> colls;
    for (char** n = names; *n != nullptr; ++n) colls.emplace_back(*n);
    bson_strfreev(names);
    for (const auto& coll : colls)
      if (!dump_collection(client.get(), db, coll, lines)) return 1;
  }
  std::sort(lines.begin(), lines.end());
  for (const auto& l : lines) std::printf("%s\n", l.c_str());
  return 0;
}
