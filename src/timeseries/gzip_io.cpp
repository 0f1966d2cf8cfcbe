#include "df/timeseries/gzip_io.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "df/core/error.h"

namespace df::timeseries {

std::string read_maybe_gzipped_file(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  check(file != nullptr, path + ": cannot open file: " + std::strerror(errno));
  // gzclose through a unique_ptr so an exception below still closes the file.
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(file, gzclose);
  gzbuffer(file, 1 << 17);
  std::string bytes;
  std::string chunk(1 << 20, '\0');
  while (true) {
    const int n = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      throw Error(path + ": read error: " + (message ? message : "unknown zlib error"));
    }
    if (n == 0) break;
    bytes.append(chunk.data(), static_cast<size_t>(n));
  }
  return bytes;
}

bool looks_gzipped(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

std::string gunzip(std::string_view compressed, const std::string& source) {
  std::string out;
  size_t offset = 0;
  // Loop over concatenated gzip members (e.g. files written by `cat a.gz b.gz`).
  while (offset < compressed.size()) {
    z_stream stream{};
    check(inflateInit2(&stream, 16 + MAX_WBITS) == Z_OK, source + ": inflateInit2 failed");
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data() + offset));
    stream.avail_in = static_cast<uInt>(compressed.size() - offset);
    char buffer[1 << 16];
    int status = Z_OK;
    while (status != Z_STREAM_END) {
      stream.next_out = reinterpret_cast<Bytef*>(buffer);
      stream.avail_out = sizeof(buffer);
      status = inflate(&stream, Z_NO_FLUSH);
      if (status != Z_OK && status != Z_STREAM_END) {
        const std::string message = stream.msg ? stream.msg : "truncated or corrupt gzip data";
        inflateEnd(&stream);
        throw Error(source + ": gunzip failed: " + message);
      }
      out.append(buffer, sizeof(buffer) - stream.avail_out);
      if (status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) {
        inflateEnd(&stream);
        throw Error(source + ": gunzip failed: truncated gzip data");
      }
    }
    offset = compressed.size() - stream.avail_in;
    inflateEnd(&stream);
    if (!looks_gzipped(compressed.substr(offset))) break;  // trailing padding after the last member
  }
  return out;
}

}  // namespace df::timeseries
