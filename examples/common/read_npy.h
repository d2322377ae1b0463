/* A minimal .npy reader for the examples: little-endian float32, C order, format 1.0 or 2.0. */
#ifndef DLC_EXAMPLES_READ_NPY_H_
#define DLC_EXAMPLES_READ_NPY_H_

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_NPY_MAX_RANK 16

/* Reads a float32 .npy (format 1.0/2.0, '<f4', C order). Returns the data; rank and shape out. */
static float* read_npy(const char* path, int32_t* rank, int64_t shape[READ_NPY_MAX_RANK], size_t* bytes) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char magic[10];
  float* data = NULL;
  if (fread(magic, 1, 10, f) != 10 || memcmp(magic, "\x93NUMPY", 6) != 0) goto done;
  size_t header_len = magic[8] | (magic[9] << 8);
  if (magic[6] >= 2) { /* version 2 has a 4-byte length */
    unsigned char more[2];
    if (fread(more, 1, 2, f) != 2) goto done;
    header_len |= ((size_t)more[0] << 16) | ((size_t)more[1] << 24);
  }
  char* header = calloc(header_len + 1, 1);
  if (!header || fread(header, 1, header_len, f) != header_len) {
    free(header);
    goto done;
  }
  const char* shape_text = strstr(header, "'shape': (");
  if (!strstr(header, "'<f4'") || strstr(header, "'fortran_order': True") || !shape_text) {
    free(header);
    goto done;
  }
  size_t count = 1;
  *rank = 0;
  for (const char* p = shape_text + 10; *p && *p != ')' && *rank < READ_NPY_MAX_RANK;) {
    char* end;
    long long d = strtoll(p, &end, 10);
    if (end == p) break;
    shape[(*rank)++] = d;
    count *= (size_t)d;
    p = end;
    while (*p == ',' || *p == ' ') ++p;
  }
  free(header);
  *bytes = count * sizeof(float);
  data = malloc(*bytes ? *bytes : 1);
  if (data && fread(data, 1, *bytes, f) != *bytes) {
    free(data);
    data = NULL;
  }
done:
  fclose(f);
  return data;
}

#endif /* DLC_EXAMPLES_READ_NPY_H_ */
