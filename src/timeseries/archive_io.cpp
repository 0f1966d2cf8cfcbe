#include "archive_io.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include "df/core/error.h"

namespace df::timeseries::detail {
namespace {

using Reader = std::unique_ptr<archive, int (*)(archive*)>;

constexpr size_t kBlockSize = 1 << 16;

Reader new_reader() {
  Reader reader(archive_read_new(), archive_read_free);
  check(reader != nullptr, "libarchive: cannot allocate a reader");
  return reader;
}

std::string error_text(archive* reader) {
  const char* message = archive_error_string(reader);
  return message != nullptr ? message : "unknown libarchive error";
}

bool ends_with_gz(const std::string& name) {
  return name.size() >= 3 && name.compare(name.size() - 3, 3, ".gz") == 0;
}

// Appends the data of the current entry to `out`; returns false (error in `reader`) on failure.
bool append_entry_data(archive* reader, std::string& out) {
  char buffer[kBlockSize];
  while (true) {
    const la_ssize_t n = archive_read_data(reader, buffer, sizeof(buffer));
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buffer, static_cast<size_t>(n));
  }
}

// Reads the one entry of a reader opened with the raw (or empty) format: the whole input, gunzipped when
// libarchive's gzip filter recognised it. Like Python's gzip.open, a ".gz" name must hold gzip data.
std::string read_raw_entry(archive* reader, const std::string& source) {
  archive_entry* entry = nullptr;
  const int status = archive_read_next_header(reader, &entry);
  if (status == ARCHIVE_EOF) return "";  // empty input
  if (status != ARCHIVE_OK && status != ARCHIVE_WARN) throw Error(source + ": cannot read: " + error_text(reader));
  const bool gzipped = archive_filter_code(reader, 0) == ARCHIVE_FILTER_GZIP;
  check(gzipped || !ends_with_gz(source), source + ": not gzip data, although the name ends in .gz");
  std::string out;
  if (!append_entry_data(reader, out)) throw Error(source + ": cannot read: " + error_text(reader));
  return out;
}

// A reader that passes plain input through and gunzips gzip input (several concatenated members too).
Reader new_raw_reader() {
  Reader reader = new_reader();
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_format_raw(reader.get());
  archive_read_support_format_empty(reader.get());  // raw alone rejects a zero-byte input
  return reader;
}

}  // namespace

std::vector<ArchiveMember> read_archive_members(const std::string& archive_path,
                                                const std::function<bool(const std::string&)>& keep) {
  Reader reader = new_reader();
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_format_tar(reader.get());  // ustar, pax and GNU tar
  if (archive_read_open_filename(reader.get(), archive_path.c_str(), kBlockSize) != ARCHIVE_OK) {
    throw Error(archive_path + ": cannot read archive: " + error_text(reader.get()));
  }
  std::vector<ArchiveMember> members;
  std::string previous;  // the last member read, to place an error in a corrupt or truncated archive
  while (true) {
    archive_entry* entry = nullptr;
    const int status = archive_read_next_header(reader.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN) {
      const std::string where = previous.empty() ? "first member" : "member after '" + previous + "'";
      throw Error(archive_path + ": " + where + ": " + error_text(reader.get()));
    }
    const char* stored = archive_entry_pathname(entry);
    std::string path = stored != nullptr ? stored : "";
    while (path.rfind("./", 0) == 0) path.erase(0, 2);
    previous = path;
    // Hard links are regular-file entries without data of their own; GluonTS archives have none.
    const bool regular = archive_entry_filetype(entry) == AE_IFREG && archive_entry_hardlink(entry) == nullptr;
    if (!regular || !keep(path)) continue;  // libarchive skips the data at the next header
    ArchiveMember member{path, {}};
    if (archive_entry_size_is_set(entry)) member.bytes.reserve(static_cast<size_t>(archive_entry_size(entry)));
    if (!append_entry_data(reader.get(), member.bytes)) {
      throw Error(archive_path + ": member '" + path + "': " + error_text(reader.get()));
    }
    members.push_back(std::move(member));
  }
  return members;
}

std::string read_maybe_gzipped_file(const std::string& path) {
  Reader reader = new_raw_reader();
  if (archive_read_open_filename(reader.get(), path.c_str(), kBlockSize) != ARCHIVE_OK) {
    throw Error(path + ": cannot read: " + error_text(reader.get()));  // libarchive reads ahead when opening
  }
  return read_raw_entry(reader.get(), path);
}

std::string gunzip_if_needed(std::string_view bytes, const std::string& source) {
  Reader reader = new_raw_reader();
  if (archive_read_open_memory(reader.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    throw Error(source + ": cannot read: " + error_text(reader.get()));
  }
  return read_raw_entry(reader.get(), source);
}

}  // namespace df::timeseries::detail
