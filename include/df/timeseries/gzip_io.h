// Whole-file reading through zlib: gzip-compressed and plain files are read alike (zlib passes plain
// files through), so callers accept "x.json" and "x.json.gz" without branching.
#pragma once
#include <string>
#include <string_view>

namespace df::timeseries {

// Bytes of `path`, gunzipped if it is gzip data. Throws df::Error naming the path.
std::string read_maybe_gzipped_file(const std::string& path);

// Gunzips an in-memory buffer (one or more concatenated gzip members). `source` names it in errors.
std::string gunzip(std::string_view compressed, const std::string& source);

// True when `bytes` starts with the gzip magic number 1f 8b.
bool looks_gzipped(std::string_view bytes);

}  // namespace df::timeseries
