// GET /search through a real HTTP exchange on loopback (cpp-httplib's client against our
// server), compared with the CLI's answer over the same index.

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>

#include <httplib.h>

#include "adapters/http/http_server.h"
#include "adapters/sqlite/sqlite_table_store.h"
#include "services/search/search_api.h"
#include "support/run.h"

namespace cdc::search {
namespace {

namespace fs = std::filesystem;

TEST(SearchApiTest, HttpAndCliGiveTheSameAnswers) {
  fs::path dir = fs::temp_directory_path() / ("cdc-search-api-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string cd = "cd " + dir.string() + " && " + test::cdcBinary();
  ASSERT_EQ(test::run(cd + " generate --products 500 --orders 500 > events.jsonl", false).exitCode, 0);
  auto indexed = test::run(cd + " search-indexer --source file:events.jsonl --store sqlite:idx.db --http-port 0");
  ASSERT_EQ(indexed.exitCode, 0) << indexed.out;

  auto tables = sqlite::SqliteTableStore::open((dir / "idx.db").string());
  ASSERT_TRUE(tables.has_value());
  Searcher searcher(**tables, IndexTables{});
  http::HttpServer server;
  server.get("/search", [&](const http::Params& p) {
    auto [status, body] = handleSearch(searcher, p);
    return http::Response{status, body};
  });
  ASSERT_TRUE(server.start("127.0.0.1", 0).has_value());
  httplib::Client client("127.0.0.1", server.port());

  auto res = client.Get("/search?q=wireless%20mou&limit=5");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  auto cli = test::run(cd + " search 'wireless mou' --limit 5 --store sqlite:idx.db", false);
  EXPECT_EQ(res->body + "\n", cli.out);
  EXPECT_NE(res->body.find("\"results\":[{"), std::string::npos) << res->body;

  // Pages follow the cursor until next_cursor is null, and the pages add up to one long page.
  auto all = client.Get("/search?q=wireless&limit=100");
  ASSERT_TRUE(all);
  std::string cursor, collected;
  int pages = 0;
  do {
    auto page = client.Get(("/search?q=wireless&limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor)).c_str());
    ASSERT_TRUE(page);
    ASSERT_EQ(page->status, 200);
    auto r = page->body.find("\"results\":[");
    auto e = page->body.rfind("],\"next_cursor\":");
    std::string results = page->body.substr(r + 11, e - r - 11);
    if (!results.empty()) collected += (collected.empty() ? "" : ",") + results;
    auto c = page->body.find("\"next_cursor\":\"");
    cursor = c == std::string::npos ? "" : page->body.substr(c + 15, page->body.find('"', c + 15) - c - 15);
    ++pages;
  } while (!cursor.empty() && pages < 100);
  EXPECT_GT(pages, 1);
  auto r = all->body.find("\"results\":[");
  EXPECT_EQ(collected, all->body.substr(r + 11, all->body.rfind("],\"next_cursor\":") - r - 11));

  auto priced = client.Get("/search?min_price=10&max_price=20.5&limit=100");
  ASSERT_TRUE(priced);
  EXPECT_EQ(priced->status, 200);
  EXPECT_EQ(priced->body + "\n",
            test::run(cd + " search --min-price 10 --max-price 20.5 --limit 100 --store sqlite:idx.db", false).out);

  for (const char* bad :
       {"/search", "/search?q=x&limit=0", "/search?min_price=abc", "/search?q=x&cursor=zzz", "/search?min_price=5&max_price=1"}) {
    auto b = client.Get(bad);
    ASSERT_TRUE(b) << bad;
    EXPECT_EQ(b->status, 400) << bad;
    EXPECT_NE(b->body.find("\"error\""), std::string::npos) << bad;
  }
  server.stop();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cdc::search
