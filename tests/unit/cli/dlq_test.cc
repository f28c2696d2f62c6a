// cdc dlq as an operator uses it: list with filters, replay (dry run, the first error kept,
// analytics included), purge and export back to kcat lines.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "adapters/localfs/dir_object_store.h"
#include "runtime/dead_letter.h"
#include "support/run.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;

// Schemaless string-mode decimals without a '.' are read as base64 by default: "100" fails
// to decode until SCHEMALESS_DECIMALS=string says how the connector writes them.
constexpr const char* kUndecodableProduct =
    R"({"topic":"dbserver1.public.products","partition":0,"offset":0,"ts":1767225600000,"key":"{\"id\":5}","payload":"{\"id\":5,\"name\":\"Mug\",\"description\":null,\"price\":\"100\",\"stock_quantity\":40,\"__op\":\"r\"}"})";
constexpr const char* kBrokenItem =
    R"({"topic":"dbserver1.public.order_items","partition":1,"offset":3,"ts":1767312000000,"key":"{\"id\":9}","payload":"{broken"})";

class DlqTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cdc-dlq-" + std::to_string(::getpid()) + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string cdc(const std::string& args, const std::string& env = "") const {
    return "cd " + dir_.string() + " && env LOG_FORMAT=text METRICS_PORT=0 " + env + " timeout 60 " + cdcBinary() + " " + args;
  }
  static size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  std::string read(const std::string& name) {
    std::ifstream in(dir_ / name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // One dead letter of `service`, written at `now`.
  void letter(const std::string& service, const std::string& topic, int64_t offset, const std::string& error, Timestamp now) {
    localfs::DirObjectStore objects(dir_ / "lake");
    runtime::Record r;
    r.topic = topic;
    r.partition = 0;
    r.offset = offset;
    r.timestampMs = 1767225600000;
    r.key = R"({"id":1})";
    r.value = "{broken";
    ASSERT_TRUE(runtime::DeadLetterQueue(objects, service).write(r, error, now).has_value());
  }
  fs::path dir_;
};

TEST_F(DlqTest, ListSelectsByServiceTopicErrorAndTime) {
  const Timestamp dec1 = *parseIsoTimestamp("2026-12-01T10:00:00Z");
  const Timestamp dec2 = *parseIsoTimestamp("2026-12-02T10:00:00Z");
  letter("inventory-service", "dbserver1.public.products", 1, "invalid_json: at 1", dec1);
  letter("inventory-service", "dbserver1.public.order_items", 2, "negative quantity", dec2);
  letter("search-indexer", "dbserver1.public.products", 3, "invalid_json: at 1", dec2);
  auto list = [&](const std::string& flags) { return run(cdc("dlq list --objects dir:lake " + flags), false); };
  EXPECT_EQ(lines(list("").out), 3u);
  EXPECT_EQ(lines(list("--service inventory-service").out), 2u);
  EXPECT_EQ(lines(list("--service inventory").out), 2u);  // the command's name says the same
  EXPECT_EQ(lines(list("--topic products").out), 2u);     // a table stands for its topic
  EXPECT_EQ(lines(list("--topic dbserver1.public.order_items").out), 1u);
  EXPECT_EQ(lines(list("--service search-indexer --topic dbserver1.public.products").out), 1u);
  EXPECT_EQ(lines(list("--error invalid_json").out), 2u);
  EXPECT_EQ(lines(list("--since 2026-12-02").out), 2u);
  EXPECT_EQ(lines(list("--before 2026-12-01T12:00:00Z").out), 1u);
  EXPECT_EQ(lines(list("--since 2026-12-02 --error quantity").out), 1u);

  auto bogus = run(cdc("dlq list --objects dir:lake --service bogus"));
  EXPECT_EQ(bogus.exitCode, 2) << bogus.out;
  EXPECT_NE(bogus.out.find("--service: unknown service 'bogus' (inventory-service, analytics-service, search-indexer)"),
            std::string::npos)
      << bogus.out;
  auto badTime = run(cdc("dlq list --objects dir:lake --since yesterday"));
  EXPECT_EQ(badTime.exitCode, 2) << badTime.out;
  EXPECT_NE(badTime.out.find("--since: expected a date or an ISO-8601 time"), std::string::npos) << badTime.out;
  auto backwards = run(cdc("dlq list --objects dir:lake --since 2026-12-02 --before 2026-12-01"));
  EXPECT_EQ(backwards.exitCode, 2) << backwards.out;
  EXPECT_NE(backwards.out.find("--before: 2026-12-01 is not after --since 2026-12-02"), std::string::npos) << backwards.out;
}

TEST_F(DlqTest, AReplayKeepsTheFirstErrorAndItsDryRunChangesNothing) {
  write("events.jsonl", std::string(kUndecodableProduct) + "\n" + kBrokenItem + "\n");
  auto r = run(cdc("inventory --source file:events.jsonl --store sqlite:inv.db --objects dir:lake"));
  ASSERT_NE(r.out.find(", 2 dead letters"), std::string::npos) << r.out;
  const std::string before = run(cdc("dlq list --objects dir:lake"), false).out;

  // A dry run says which letters decode with the configuration given, and changes nothing.
  auto dry = run(cdc("dlq replay --service inventory-service --store sqlite:inv.db --objects dir:lake --dry-run"), false);
  EXPECT_EQ(dry.exitCode, 0) << dry.out;
  EXPECT_EQ(lines(dry.out), 2u) << dry.out;
  EXPECT_EQ(dry.out.find(R"("decodes_now":true)"), std::string::npos) << dry.out;
  auto fixedDry = run(cdc("dlq replay --service inventory-service --store sqlite:inv.db --objects dir:lake --dry-run",
                          "SCHEMALESS_DECIMALS=string"),
                      false);
  EXPECT_NE(fixedDry.out.find(R"("offset":0,)"), std::string::npos);
  EXPECT_EQ(lines(fixedDry.out), 2u) << fixedDry.out;
  EXPECT_NE(fixedDry.out.find(R"("topic":"dbserver1.public.products","partition":0,"offset":0,"error":"bad_base64)"),
            std::string::npos)
      << fixedDry.out;
  EXPECT_NE(fixedDry.out.find(R"("decodes_now":true)"), std::string::npos) << fixedDry.out;
  EXPECT_NE(fixedDry.out.find(R"("decodes_now":false,"decode_error":"truncated_json)"), std::string::npos) << fixedDry.out;
  EXPECT_EQ(run(cdc("dlq list --objects dir:lake"), false).out, before);
  EXPECT_EQ(run(cdc("dump --store sqlite:inv.db --table inventory-realtime"), false).out, "");

  // Replayed as it is, both fail again: the error of this attempt, and the first one kept.
  run(cdc("dlq replay --service inventory-service --store sqlite:inv.db --objects dir:lake"));
  auto again = run(cdc("dlq list --objects dir:lake --topic products"), false).out;
  EXPECT_NE(again.find(R"("attempts":2)"), std::string::npos) << again;
  EXPECT_NE(again.find(R"("first_error":"bad_base64: field 'price': '100' is not base64")"), std::string::npos) << again;
  EXPECT_NE(again.find(R"("first_dead_lettered_at":")"), std::string::npos) << again;
  // Fixed, the product goes through; the broken item stays, its first error with it.
  auto fixed =
      run(cdc("dlq replay --service inventory-service --store sqlite:inv.db --objects dir:lake", "SCHEMALESS_DECIMALS=string"));
  EXPECT_EQ(fixed.exitCode, 0) << fixed.out;
  auto left = run(cdc("dlq list --objects dir:lake"), false).out;
  EXPECT_EQ(lines(left), 1u) << left;
  EXPECT_NE(left.find(R"("attempts":3)"), std::string::npos) << left;
  EXPECT_NE(left.find(R"("first_error":"truncated_json)"), std::string::npos) << left;
  EXPECT_NE(run(cdc("dump --store sqlite:inv.db --table inventory-realtime"), false).out.find(R"("stock_quantity":40)"),
            std::string::npos);
}

TEST_F(DlqTest, APurgeRemovesOnlyWhatItSelects) {
  const Timestamp now = *parseIsoTimestamp("2026-12-01T10:00:00Z");
  letter("inventory-service", "dbserver1.public.products", 1, "invalid_json", now);
  letter("inventory-service", "dbserver1.public.order_items", 2, "negative quantity", now);
  letter("analytics-service", "dbserver1.public.orders", 3, "negative total_amount", now);
  auto everything = run(cdc("dlq purge --objects dir:lake"));
  EXPECT_EQ(everything.exitCode, 2) << everything.out;
  EXPECT_NE(everything.out.find("--all for every dead letter"), std::string::npos) << everything.out;

  auto dry = run(cdc("dlq purge --objects dir:lake --error negative --dry-run"));
  EXPECT_EQ(dry.exitCode, 0) << dry.out;
  EXPECT_NE(dry.out.find("2 dead letters would be purged (dry run: nothing removed)"), std::string::npos) << dry.out;
  EXPECT_EQ(lines(run(cdc("dlq list --objects dir:lake"), false).out), 3u);

  auto purged = run(cdc("dlq purge --objects dir:lake --service inventory-service --error negative"));
  EXPECT_EQ(purged.exitCode, 0) << purged.out;
  EXPECT_NE(purged.out.find("purged 1 dead letters"), std::string::npos) << purged.out;
  auto left = run(cdc("dlq list --objects dir:lake"), false).out;
  EXPECT_EQ(lines(left), 2u) << left;
  EXPECT_EQ(left.find("negative quantity"), std::string::npos) << left;
  EXPECT_FALSE(fs::exists(dir_ / "lake/dlq/inventory-service/dbserver1.public.order_items/date=2026-01-01/0-2.json"));

  EXPECT_EQ(run(cdc("dlq purge --objects dir:lake --all")).exitCode, 0);
  EXPECT_EQ(run(cdc("dlq list --objects dir:lake"), false).out, "");
}

TEST_F(DlqTest, ExportedLinesReplayAsASourceAndKeepTheFirstError) {
  write("events.jsonl", std::string(kUndecodableProduct) + "\n" + kBrokenItem + "\n");
  run(cdc("inventory --source file:events.jsonl --store sqlite:inv.db --objects dir:lake"));
  auto exported = run("(" + cdc("dlq export --objects dir:lake --service inventory-service") + " > letters.jsonl)");
  EXPECT_EQ(exported.exitCode, 0) << exported.out;
  EXPECT_NE(exported.out.find("exported 2 dead letters as kcat lines"), std::string::npos) << exported.out;
  std::string text = read("letters.jsonl");
  EXPECT_EQ(lines(text), 2u) << text;
  EXPECT_NE(text.find(R"("topic":"dbserver1.public.products","partition":0,"offset":0,"tstype":"create","ts":1767225600000)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("key":"{\"id\":5}")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("cdc-dlq-first-error","bad_base64: field 'price': '100' is not base64")"), std::string::npos) << text;

  // The lines are a source: fixed, the product applies; the item fails again as attempt 2,
  // its first error kept (the letters are written again under the same keys).
  auto replayed =
      run(cdc("inventory --source file:letters.jsonl --store sqlite:inv.db --objects dir:lake", "SCHEMALESS_DECIMALS=string"));
  EXPECT_EQ(replayed.exitCode, 0) << replayed.out;
  EXPECT_NE(replayed.out.find(", 1 dead letters"), std::string::npos) << replayed.out;
  EXPECT_NE(run(cdc("dump --store sqlite:inv.db --table inventory-realtime"), false).out.find(R"("stock_quantity":40)"),
            std::string::npos);
  auto item = run(cdc("dlq list --objects dir:lake --topic order_items"), false).out;
  EXPECT_NE(item.find(R"("attempts":2)"), std::string::npos) << item;
  EXPECT_NE(item.find(R"("first_error":"truncated_json)"), std::string::npos) << item;

  // A value that is not UTF-8 cannot be a JSON line: named, the others still exported, exit 1.
  {
    localfs::DirObjectStore objects(dir_ / "lake");
    runtime::Record r;
    r.topic = "dbserver1.public.products";
    r.offset = 8;
    r.timestampMs = 1767225600000;
    r.value = std::string("\xff\xfe", 2);
    ASSERT_TRUE(runtime::DeadLetterQueue(objects, "inventory-service").write(r, "invalid_json", Timestamp{}).has_value());
  }
  auto binary = run("(" + cdc("dlq export --objects dir:lake") + " > all.jsonl)");
  EXPECT_EQ(binary.exitCode, 1) << binary.out;
  EXPECT_NE(binary.out.find("1 dead letters hold a key or value that is not UTF-8 and cannot be a JSON line: "
                            "dlq/inventory-service/dbserver1.public.products/date=2026-01-01/0-8.json"),
            std::string::npos)
      << binary.out;
  EXPECT_EQ(lines(read("all.jsonl")), 2u);
}

TEST_F(DlqTest, AnalyticsReplaysADeadLetterWhoseRowHasNotChangedSince) {
  auto order = [](int offset, int id, const std::string& total, const std::string& status) {
    return R"({"topic":"dbserver1.public.orders","partition":0,"offset":)" + std::to_string(offset) +
           R"(,"ts":1767225600000,"key":"{\"id\":)" + std::to_string(id) + R"(}","payload":"{\"id\":)" + std::to_string(id) +
           R"(,\"customer_id\":5,\"total_amount\":\")" + total + R"(\",\"status\":\")" + status +
           R"(\",\"created_at\":1767225600000000,\"__op\":\"c\"}"})" + "\n";
  };
  // Order 1 does not decode and nothing changes it after; order 3 does not decode, then a later
  // change of it does; order 4 is refused (a negative total) and nothing changes it after.
  write("events.jsonl", order(0, 1, "100", "paid") + order(1, 2, "5.00", "paid") + order(2, 3, "700", "pending") +
                            order(3, 3, "7.00", "paid") + order(4, 4, "-1.00", "paid"));
  auto first = run(cdc("analytics --source file:events.jsonl --objects dir:lake"));
  ASSERT_EQ(first.exitCode, 0) << first.out;
  EXPECT_NE(first.out.find(", 3 dead letters"), std::string::npos) << first.out;
  EXPECT_NE(read("lake/analytics/summary/latest.json").find(R"("total_orders":2,"total_revenue":12.00)"), std::string::npos)
      << read("lake/analytics/summary/latest.json");

  // Replayed by another process (what it knows of the rows comes from the checkpoints): order 1
  // is applied out of order; order 3's letter is superseded by its later change; order 4 is
  // still refused.
  auto replay = run(cdc("dlq replay --service analytics-service --objects dir:lake", "SCHEMALESS_DECIMALS=string"));
  EXPECT_EQ(replay.exitCode, 0) << replay.out;
  EXPECT_NE(read("lake/analytics/summary/latest.json").find(R"("total_orders":3,"total_revenue":112.00)"), std::string::npos)
      << read("lake/analytics/summary/latest.json");
  auto left = run(cdc("dlq list --objects dir:lake"), false).out;
  EXPECT_EQ(lines(left), 2u) << left;
  EXPECT_NE(left.find(R"("offset":2,"error":"superseded: a later change of orders row 3 was applied after it)"),
            std::string::npos)
      << left;
  EXPECT_NE(left.find(R"("first_error":"bad_base64)"), std::string::npos) << left;
  EXPECT_NE(left.find(R"("offset":4,"error":"negative total_amount in order 4","attempts":2)"), std::string::npos) << left;

  // Replayed again, nothing is counted twice.
  run(cdc("dlq replay --service analytics-service --objects dir:lake", "SCHEMALESS_DECIMALS=string"));
  EXPECT_NE(read("lake/analytics/summary/latest.json").find(R"("total_orders":3,"total_revenue":112.00)"), std::string::npos);
  // A full replay of the topic after it (a restart over the same offsets) changes nothing.
  run(cdc("analytics --source file:events.jsonl --objects dir:lake", "SCHEMALESS_DECIMALS=string"));
  EXPECT_NE(read("lake/analytics/summary/latest.json").find(R"("total_orders":3,"total_revenue":112.00)"), std::string::npos)
      << read("lake/analytics/summary/latest.json");
}

}  // namespace
}  // namespace cdc::test
