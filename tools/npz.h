// Reading and writing NumPy .npz archives (np.savez, np.savez_compressed): a ZIP of .npy files.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ir/status.h"
#include "ir/tensor.h"

namespace dlc::npz {

using Arrays = std::vector<std::pair<std::string, Tensor>>;

// The arrays of `path` by name (the member "x.npy" is "x"), in archive order. Stored and deflated
// members, ZIP64, and CRC checks; a damaged archive is an error naming the file and the member.
Expected<Arrays> readFile(const std::string& path);
// The same from the archive's bytes; `what_file` names it in errors.
Expected<Arrays> parse(const std::string& data, const std::string& what_file);

// Writes `arrays` as an uncompressed .npz (what np.load reads) to a temporary name, then renames it
// over `path`, so a reader never sees a partial file.
Status writeFile(const std::string& path, const Arrays& arrays);

}  // namespace dlc::npz
