// XXH64 from Debian's libxxhash-dev, compiled in (header-only mode) so the runtime needs no .so.
#define XXH_INLINE_ALL
#define XXH_NO_XXH3
#include <xxhash.h>

#include "runtime/src/file_header.h"

namespace dlc::rt {
uint64_t checksum(const void* data, size_t size) { return XXH64(data, size, 0); }
}  // namespace dlc::rt
