#include "adapters/localfs/dir_object_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace cdc::localfs {
namespace fs = std::filesystem;
namespace {

Error ioError(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  // Out of space or quota and I/O errors may clear; permissions and the like will not.
  if (err == ENOSPC || err == EDQUOT || err == EIO || err == EAGAIN || err == EINTR) return Error::retry(std::move(msg));
  return Error::fatal(std::move(msg));
}

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void fsyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// The entity tag of a body: FNV-1a (64 bits) and the length, as hex. Like S3's MD5 tag, it
// depends on the body alone.
std::string etagOf(std::string_view body) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : body) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%016llx-%zx", static_cast<unsigned long long>(h), body.size());
  return {buf, static_cast<size_t>(n)};
}

int64_t mtimeMs(const fs::directory_entry& e) {
  std::error_code ec;
  auto t = e.last_write_time(ec);
  if (ec) return 0;
  auto sys = std::chrono::file_clock::to_sys(t);
  return std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
}

}  // namespace

DirObjectStore::DirObjectStore(fs::path root) : root_(std::move(root)) {}

Status DirObjectStore::put(std::string_view key, std::string_view body, std::string_view) {
  if (!store::isValidObjectKey(key)) return fail(Error::poison("invalid object key '" + std::string(key) + "'"));
  fs::path target = root_ / fs::path(std::string(key));
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) return fail(ioError("create " + target.parent_path().string(), ec.value()));
  static std::atomic<uint64_t> counter{0};
  fs::path tmp = target.parent_path() / (".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" +
                                         target.filename().string());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(ioError("open " + tmp.string(), errno));
  if (!writeAll(fd, body) || ::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(ioError("write " + tmp.string(), err));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail(ioError("rename to " + target.string(), err));
  }
  fsyncDir(target.parent_path());
  return {};
}

Result<std::optional<std::string>> DirObjectStore::get(std::string_view key) {
  if (!store::isValidObjectKey(key)) return fail(Error::poison("invalid object key '" + std::string(key) + "'"));
  fs::path target = root_ / fs::path(std::string(key));
  std::ifstream in(target, std::ios::binary);
  if (!in) {
    int err = errno;
    std::error_code ec;
    if (err == ENOENT || (!fs::exists(target, ec) && !ec)) return std::optional<std::string>{};
    return fail(ioError("read " + target.string(), err));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::optional<std::string>(ss.str());
}

Result<store::ObjectPage> DirObjectStore::list(std::string_view prefix, const std::optional<std::string>& continuationToken,
                                               int maxKeys) {
  // Walk only the deepest directory the prefix names, then filter by the full prefix.
  std::string p(prefix);
  auto slash = p.rfind('/');
  fs::path start = slash == std::string::npos ? root_ : root_ / p.substr(0, slash);
  store::ObjectPage page;
  std::vector<store::ObjectInfo> found;
  // Another process may delete objects (and empty directories) while we walk: a file that
  // vanishes is not listed, and a directory that vanishes under the iterator restarts the walk.
  std::error_code ec;
  for (int attempt = 1;; ++attempt) {
    found.clear();
    ec.clear();
    if (!fs::is_directory(start, ec)) return page;
    for (auto it = fs::recursive_directory_iterator(start, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      std::error_code entryError;
      if (!it->is_regular_file(entryError)) continue;
      std::string name = it->path().filename().string();
      if (name.starts_with(".tmp-")) continue;
      std::string key = fs::relative(it->path(), root_, entryError).generic_string();
      if (entryError || !key.starts_with(p)) continue;
      if (continuationToken && key <= *continuationToken) continue;
      auto size = it->file_size(entryError);
      if (entryError) continue;  // deleted since the directory was read
      found.push_back({std::move(key), static_cast<uint64_t>(size), mtimeMs(*it)});
    }
    if (!ec) break;
    if (ec != std::errc::no_such_file_or_directory || attempt == 5) return fail(ioError("list " + start.string(), ec.value()));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  size_t limit = maxKeys > 0 ? static_cast<size_t>(maxKeys) : 1000;
  if (found.size() > limit) {
    found.resize(limit);
    page.continuationToken = found.back().key;
  }
  page.objects = std::move(found);
  return page;
}

Result<std::optional<store::TaggedObject>> DirObjectStore::getTagged(std::string_view key) {
  auto body = get(key);
  if (!body) return fail(body.error());
  if (!*body) return std::optional<store::TaggedObject>{};
  std::string etag = etagOf(**body);
  return std::optional<store::TaggedObject>(store::TaggedObject{std::move(**body), std::move(etag)});
}

Result<std::optional<std::string>> DirObjectStore::putIf(std::string_view key, std::string_view body,
                                                         const std::optional<std::string>& ifMatch,
                                                         std::string_view contentType) {
  if (!store::isValidObjectKey(key)) return fail(Error::poison("invalid object key '" + std::string(key) + "'"));
  fs::path dir = (root_ / fs::path(std::string(key))).parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(ioError("create " + dir.string(), ec.value()));
  // The conditional writes of a directory's keys take turns on a lock of the directory (held by
  // the open descriptor, across processes); a reader needs none (each put is one rename).
  int lock = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock < 0) return fail(ioError("open " + dir.string(), errno));
  while (::flock(lock, LOCK_EX) != 0) {
    if (errno != EINTR) {
      int err = errno;
      ::close(lock);
      return fail(ioError("lock " + dir.string(), err));
    }
  }
  auto current = get(key);
  Result<std::optional<std::string>> out = std::optional<std::string>{};
  if (!current) {
    out = fail(current.error());
  } else if (ifMatch ? (*current && etagOf(**current) == *ifMatch) : !*current) {
    if (auto s = put(key, body, contentType); !s) {
      out = fail(s.error());
    } else {
      out = std::optional<std::string>(etagOf(body));
    }
  }
  ::close(lock);
  return out;
}

Status DirObjectStore::remove(std::string_view key) {
  if (!store::isValidObjectKey(key)) return fail(Error::poison("invalid object key '" + std::string(key) + "'"));
  fs::path target = root_ / fs::path(std::string(key));
  if (::unlink(target.c_str()) != 0 && errno != ENOENT) return fail(ioError("delete " + target.string(), errno));
  return {};
}

}  // namespace cdc::localfs
