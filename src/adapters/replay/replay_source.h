#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/source.h"

namespace cdc::replay {

// Reads Kafka records from a file of `kcat -C -J` lines (SPEC §1), or standard input for "-".
// Keys and values that are not text (Avro) are read from `key_base64` / `payload_base64`.
// Ends at the end of the file. A line that is not a kcat record becomes a record with
// `sourceError` set (topic "_replay", partition 0, offset = line number) so that it reaches
// the dead-letter queue instead of stopping the run; so does a line whose position is no Kafka
// position (a negative partition or offset, an offset not after the previous one of its
// partition). Commits are remembered, not persisted:
// a replay always starts at the top of the file.
// A pipe or terminal (standard input fed by kcat, say) is read as its lines come: poll()
// returns the lines there are and waits at most its timeout for the first, so a stop request
// is seen while the writer is quiet.
class ReplaySource final : public runtime::Source {
 public:
  // `topics`: deliver only these topics' records (a consumer's subscription); empty = all.
  // `partitions`: only these partition numbers (to split one replay between processes, as a
  // consumer group splits a topic); empty = all.
  // `offsets`: check that offsets are Kafka positions (a consumer's view); false for input
  // whose offsets are not kept (records produced to a topic get new ones).
  static Result<std::unique_ptr<ReplaySource>> open(const std::string& path, std::vector<std::string> topics = {},
                                                    std::vector<int32_t> partitions = {}, bool offsets = true);
  ~ReplaySource() override;

  Result<runtime::PollStatus> poll(std::vector<runtime::Record>& out, size_t max, std::chrono::milliseconds timeout) override;
  Status commit(std::span<const runtime::Position> positions) override;
  std::string describe() const override { return "file:" + path_; }

  const std::vector<runtime::Position>& committed() const { return committed_; }
  uint64_t bytesRead() const { return bytesRead_; }
  // A regular file: the bytes of the lines handed out so far, of the file's size.
  std::optional<Progress> progress() const override;

 private:
  ReplaySource(std::string path, FILE* file, bool owned, std::vector<std::string> topics);
  bool subscribed(std::string_view line) const;
  // The next line without its newline; false at the end of the input, or (a stream) when no
  // whole line came within waitMs_.
  bool nextLine(std::string_view& line);
  // False when the line is a record of a topic not subscribed to (skipped); a line that is no
  // record (or goes back in its partition) becomes one that carries why (a dead letter).
  bool parseLine(std::string_view line, runtime::Record& out);
  // The line's fields into `out`; false, with why, when it is not a record. `haveTopic`: whether
  // its topic was read (a broken line of a topic not subscribed to is skipped, not refused).
  bool readFields(std::string_view line, runtime::Record& out, bool& haveTopic, std::string& why);
  // Whether a record's offset follows its partition's last (and notes it); false, with why.
  bool checkOrder(const runtime::Record& out, std::string& why);

  std::string path_;
  FILE* file_;
  bool owned_;
  bool stream_ = false;  // not a regular file: read what is there, wait with ::poll
  uint64_t size_ = 0;    // of a regular file, at open
  int waitMs_ = 0;
  int readError_ = 0;  // errno of a failed read
  std::vector<char> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  uint64_t lineNumber_ = 0;
  uint64_t bytesRead_ = 0;
  runtime::TopicInterner topics_;
  std::vector<runtime::Position> committed_;
  std::vector<runtime::Position> seen_;    // per topic and partition: the offset after the last line read
  std::vector<std::string> subscription_;  // empty: every topic
  std::vector<int32_t> partitions_;
  bool checkOffsets_ = true;
  struct Parser;
  std::unique_ptr<Parser> parser_;
};

}  // namespace cdc::replay
