// Default pipelines. -O0 only binds --input-shape sizes (a fact, not an optimization: compiled
// targets need static shapes) and expands the training ops (which have no kernels); each higher
// level adds passes. Targets differ only where a backend has its own needs (none yet: every
// target gets the same graph-level pipeline).
#include "passes/pipelines.h"

namespace dlc::passes {

Expected<std::vector<std::string>> pipelineFor(const std::string& target, int opt_level) {
  if (target != "reference" && target != "cpu" && target != "onednn" && target != "cuda")
    return Status::error(str("unknown target '", target, "' (expected reference, cpu, onednn or cuda)"));
  std::vector<std::string> p;
  // -O1: shapes made concrete where the user asked, then cleanup that never changes numerics.
  p.push_back("specialize-shapes");  // does nothing without --input-shape
  // Training ops have no kernels: they are definitions in terms of other ops, expanded at every level.
  p.insert(p.end(), {"lower-gradients", "lower-optimizers"});
  if (opt_level >= 1) p.insert(p.end(), {"canonicalize", "constant-fold", "dce"});
  // -O2: simplification and fusion into the ops backends implement as one kernel.
  if (opt_level >= 2)
    p.insert(p.end(), {"fuse-qdq", "cse", "algebraic-simplify", "transpose-reshape", "canonicalize", "constant-fold",
                       "fold-batchnorm", "recognize-layernorm", "recognize-gelu", "recognize-attention",
                       "dce",  // the chains recognition replaced still use their inputs: gone before fusing
                       // After attention is recognized (its pattern reads the flattened output), the
                       // out-projection reads it in place and the seq-first layout's transposes cancel.
                       "unflatten-gemm", "transpose-reshape", "dce",
                       "fuse-epilogue", "dce",
                       // Recognized ops have static types where the pattern they replaced had none,
                       // so shape arithmetic (Shape -> Gather -> Concat -> Reshape) may fold only now.
                       "canonicalize", "constant-fold", "dce"});
  // -O3: also fuse elementwise chains into single-loop regions, and plan memory.
  if (opt_level >= 3) p.insert(p.end(), {"fuse-elementwise", "dce", "plan-memory"});
  return p;
}

}  // namespace dlc::passes
