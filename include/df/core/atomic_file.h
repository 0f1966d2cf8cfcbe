// Replacing a file so that a reader (another process, a resumed run, a rank sharing a cache) sees the old file
// or the whole new one, never a part of it, and a crash or an error while writing leaves the old one.
//
//   df::write_file_atomically(path, [&](const std::string& temp) { archive.save_to(temp); });
//   df::write_text_atomically(run_dir + "/metrics.csv", text);
//
// `write` fills a temporary path with the same file name as `path`, in a private folder beside it (same file
// system, where a rename is atomic; unique per process and call, so two writers never share one; the same name,
// so that formats that record their file's name, as LibTorch archives do, write the same bytes for the same
// content). The temporary is then flushed to disk
// (fsync) and renamed over `path`, and the folder is synced so that the rename survives a power cut. When
// `write` (or `before_commit`) throws, the temporary is removed and the exception goes on unchanged; a failed
// flush or rename throws df::Error naming `path`.
//
// `write` may also create a folder at the temporary path: the folder is published whole under `path` (its
// files are flushed first). A rename onto an existing non-empty folder fails, so a folder is published only
// once; the caller decides what a lost race means.
#pragma once
#include <functional>
#include <string>

namespace df {

// `before_commit` runs after the temporary is complete and flushed, before the rename (tests simulate a
// crash at the worst moment there).
void write_file_atomically(const std::string& path, const std::function<void(const std::string& temp_path)>& write,
                           const std::function<void()>& before_commit = nullptr);

// Replaces `path` by `content` (bytes, written as they are).
void write_text_atomically(const std::string& path, const std::string& content);

}  // namespace df
