// Hand-built artifacts for the runtime tests: a FlatBuffer written directly against the schema
// (bypassing the compiler), wrapped in a valid header, so the semantic checks and kernel-library
// plumbing can be tested with exactly the defect or the step a test wants.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "runtime/schema/dlc_generated.h"
#include "runtime/src/file_header.h"

namespace dlc::testing {

// A header with the right magic, sizes and checksum in front of `body`.
inline std::string withHeader(const std::string& body) {
  rt::FileHeader h = rt::headerFor(body.data(), body.size());
  return std::string(reinterpret_cast<const char*>(&h), sizeof h) + body;
}

// Recomputes the checksum of a whole file (after a test changed its body).
inline void resealed(std::string& file) {
  if (file.size() < rt::kHeaderBytes) return;
  rt::FileHeader h;
  std::memcpy(&h, file.data(), sizeof h);
  h.body_checksum = rt::checksum(file.data() + rt::kHeaderBytes, file.size() - rt::kHeaderBytes);
  std::memcpy(file.data(), &h, sizeof h);
}

// A model spec that tests modify before building.
struct Spec {
  struct Value {
    std::string name;
    int32_t dtype = 1;
    std::vector<int64_t> dims;
    fb::Storage storage = fb::Storage::Dynamic;
    uint32_t weight = 0;
    uint64_t arena_offset = 0, arena_size = 0;
  };
  struct Step {
    std::string library = "reference", kernel;
    std::vector<int32_t> inputs, outputs;
    std::string payload;
  };
  uint32_t format_version = rt::kFormatVersion;
  std::vector<std::string> cpu_features;
  std::vector<Value> values;
  std::vector<int32_t> inputs, outputs;
  std::vector<fb::Weight> weights;
  std::string weights_data;
  uint64_t arena_bytes = 0;
  std::vector<Step> steps;
  struct Encoding {
    fb::Encoding encoding = fb::Encoding::Raw;
    uint64_t dense_size = 0;
    uint8_t element_bytes = 0;
  };
  std::vector<Encoding> encodings;  // written when not empty

  std::string build() const {
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<fb::ValueInfo>> vs;
    for (const Value& v : values) {
      std::vector<flatbuffers::Offset<fb::Dim>> dims;
      for (int64_t d : v.dims) dims.push_back(fb::CreateDim(fbb, d, d < 0 ? fbb.CreateString("N") : 0));
      vs.push_back(fb::CreateValueInfo(fbb, fbb.CreateString(v.name), v.dtype, true, fbb.CreateVector(dims), v.storage,
                                       v.weight, v.arena_offset, v.arena_size));
    }
    std::vector<flatbuffers::Offset<fb::Step>> ss;
    for (const Step& s : steps)
      ss.push_back(fb::CreateStep(fbb, fbb.CreateString(s.library), fbb.CreateString(s.kernel), fbb.CreateString("loc"),
                                  fbb.CreateVector(s.inputs), fbb.CreateVector(s.outputs),
                                  fbb.CreateVector(reinterpret_cast<const uint8_t*>(s.payload.data()), s.payload.size())));
    std::vector<flatbuffers::Offset<flatbuffers::String>> features;
    for (const auto& f : cpu_features) features.push_back(fbb.CreateString(f));
    uint8_t* blob = nullptr;
    fbb.ForceVectorAlignment(weights_data.size(), 1, 64);
    auto wd = fbb.CreateUninitializedVector(weights_data.size(), 1, &blob);
    if (!weights_data.empty()) std::memcpy(blob, weights_data.data(), weights_data.size());
    std::vector<fb::WeightEncoding> es;
    for (const Encoding& e : encodings) es.emplace_back(e.dense_size, e.encoding, e.element_bytes);
    auto model = fb::CreateModel(fbb, format_version, fbb.CreateString("test"), fbb.CreateString("crafted"),
                                 fbb.CreateString("reference"), fbb.CreateVector(features), fbb.CreateVector(vs),
                                 fbb.CreateVector(inputs), fbb.CreateVector(outputs), fbb.CreateVectorOfStructs(weights), wd,
                                 arena_bytes, fbb.CreateVector(ss), 0, 0, es.empty() ? 0 : fbb.CreateVectorOfStructs(es));
    fb::FinishModelBuffer(fbb, model);
    return withHeader(std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()));
  }
};

}  // namespace dlc::testing
