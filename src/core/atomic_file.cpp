#include "df/core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "df/core/error.h"

namespace fs = std::filesystem;

namespace df {
namespace {

// Flushes a file's data (or a folder's entries) to the disk. Returns errno, 0 on success.
int sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int result = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return result;
}

// The temporary's content on the disk before it gets its name: a file, or every file of a folder.
void sync_written(const std::string& temp, const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(temp, ec)) {
    for (const auto& entry : fs::recursive_directory_iterator(temp)) {
      if (!entry.is_regular_file()) continue;
      const int error = sync_path(entry.path().string(), false);
      check(error == 0, path + ": cannot flush " + entry.path().string() + " to disk: " + std::strerror(error));
    }
    return;
  }
  const int error = sync_path(temp, false);
  check(error == 0, path + ": cannot flush " + temp + " to disk: " + std::strerror(error));
}

// A private folder beside `path` (same file system), unique per process and call.
std::string temporary_folder(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(const std::string& temp_path)>& write,
                           const std::function<void()>& before_commit) {
  // The temporary has the final name, inside a private folder: LibTorch names a saved archive's records after
  // the file, so a temporary named by process id would make two saves of the same weights differ in bytes.
  const std::string folder = temporary_folder(path);
  std::error_code ec;
  fs::create_directory(folder, ec);
  check(!ec, path + ": cannot create the temporary folder " + folder + ": " + ec.message());
  const std::string temp = (fs::path(folder) / fs::path(path).filename()).string();
  std::error_code ignored;
  try {
    write(temp);
    sync_written(temp, path);
    if (before_commit) before_commit();
  } catch (...) {
    fs::remove_all(folder, ignored);
    throw;
  }
  fs::rename(temp, path, ec);
  fs::remove_all(folder, ignored);
  if (ec) throw Error(path + ": cannot move the new version into place (from " + temp + "): " + ec.message());
  // The rename itself is durable once the folder's entries are; best effort (some file systems refuse).
  const auto parent = fs::path(path).parent_path();
  sync_path(parent.empty() ? "." : parent.string(), true);
}

void write_text_atomically(const std::string& path, const std::string& content) {
  write_file_atomically(path, [&](const std::string& temp) {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    check(out.good(), path + ": cannot write " + temp);
  });
}

}  // namespace df
