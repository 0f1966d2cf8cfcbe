// Test helper: writes small ustar archives (optionally with a pax 'x' header before a member), gzipped
// through zlib, so the GluonTS reader can be tested on archives we control.
#pragma once
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace df_test {

struct TarEntry {
  std::string path;
  std::string content;
  char type = '0';        // '0' file, '5' directory
  bool pax_path = false;  // announce the path in a pax extended header (as macOS/GNU tar may)
};

inline std::string tar_header(const std::string& name, size_t size, char type) {
  std::string header(512, '\0');
  std::memcpy(&header[0], name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(&header[100], 8, "%07o", 0644);
  std::snprintf(&header[108], 8, "%07o", 0);
  std::snprintf(&header[116], 8, "%07o", 0);
  std::snprintf(&header[124], 12, "%011zo", size);
  std::snprintf(&header[136], 12, "%011o", 0);
  header[156] = type;
  std::memcpy(&header[257], "ustar", 6);
  std::memcpy(&header[263], "00", 2);
  std::memset(&header[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  std::snprintf(&header[148], 8, "%06o", sum);  // six digits, NUL, then the space already there
  header[155] = ' ';
  return header;
}

inline std::string pad_to_block(std::string data) {
  data.append((512 - data.size() % 512) % 512, '\0');
  return data;
}

inline std::string pax_record(const std::string& key, const std::string& value) {
  // "<length> key=value\n" where length counts itself.
  const std::string body = " " + key + "=" + value + "\n";
  size_t length = body.size() + 1;
  while (std::to_string(length).size() + body.size() != length) ++length;
  return std::to_string(length) + body;
}

inline std::string make_tar(const std::vector<TarEntry>& entries) {
  std::string tar;
  for (const TarEntry& entry : entries) {
    if (entry.pax_path) {
      const std::string records = pax_record("path", entry.path) + pax_record("SCHILY.dev", "16777220");
      tar += tar_header("PaxHeader/x", records.size(), 'x') + pad_to_block(records);
    }
    const std::string stored_name = entry.pax_path ? "truncated-name" : entry.path;
    tar += tar_header(stored_name, entry.content.size(), entry.type) + pad_to_block(entry.content);
  }
  tar.append(1024, '\0');
  return tar;
}

inline void write_gzip_file(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("cannot write " + path);
  gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
}

}  // namespace df_test
