// Test helper: writes gzip-compressed tar archives and .gz files through libarchive, so the GluonTS reader
// is tested on archives we control.
#pragma once
#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace df_test {

struct TarEntry {
  std::string path;
  std::string content;
  bool directory = false;
  bool pax_header = false;  // give the member an extended attribute, which needs a pax 'x' header (as macOS tar writes)
};

namespace detail {

using Writer = std::unique_ptr<archive, int (*)(archive*)>;
using Entry = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

inline void ok(archive* writer, int status, const std::string& what) {
  if (status != ARCHIVE_OK) {
    const char* message = archive_error_string(writer);
    throw std::runtime_error(what + ": " + (message != nullptr ? message : "libarchive error"));
  }
}

// A writer to `path` with gzip compression and `set_format` (pax or raw); the output is not padded.
inline Writer open_gzip_writer(const std::string& path, int (*set_format)(archive*)) {
  Writer writer(archive_write_new(), archive_write_free);
  ok(writer.get(), set_format(writer.get()), path);
  ok(writer.get(), archive_write_add_filter_gzip(writer.get()), path);
  ok(writer.get(), archive_write_set_bytes_in_last_block(writer.get(), 1), path);
  ok(writer.get(), archive_write_open_filename(writer.get(), path.c_str()), path);
  return writer;
}

inline void write_entry(archive* writer, const std::string& path, const std::string& content, bool directory,
                        bool pax_header) {
  Entry entry(archive_entry_new(), archive_entry_free);
  archive_entry_set_pathname(entry.get(), path.c_str());
  archive_entry_set_filetype(entry.get(), directory ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(entry.get(), directory ? 0755 : 0644);
  archive_entry_set_size(entry.get(), directory ? 0 : static_cast<la_int64_t>(content.size()));
  if (pax_header) archive_entry_xattr_add_entry(entry.get(), "user.df_test", "1", 1);
  ok(writer, archive_write_header(writer, entry.get()), path);
  if (!directory && !content.empty()) {
    const la_ssize_t written = archive_write_data(writer, content.data(), content.size());
    if (written != static_cast<la_ssize_t>(content.size())) ok(writer, ARCHIVE_FATAL, path);
  }
}

}  // namespace detail

// Writes `entries` as a gzip-compressed pax (ustar-compatible) tar archive.
inline void write_tar_gz(const std::string& path, const std::vector<TarEntry>& entries) {
  detail::Writer writer = detail::open_gzip_writer(path, archive_write_set_format_pax_restricted);
  for (const TarEntry& entry : entries) {
    detail::write_entry(writer.get(), entry.path, entry.content, entry.directory, entry.pax_header);
  }
  detail::ok(writer.get(), archive_write_close(writer.get()), path);
}

// Writes `bytes` gzip-compressed to `path` (libarchive's raw format: one member, no tar headers).
inline void write_gzip_file(const std::string& path, const std::string& bytes) {
  detail::Writer writer = detail::open_gzip_writer(path, archive_write_set_format_raw);
  detail::write_entry(writer.get(), "data", bytes, /*directory=*/false, /*pax_header=*/false);
  detail::ok(writer.get(), archive_write_close(writer.get()), path);
}

}  // namespace df_test
