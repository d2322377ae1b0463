// Run-time values of the reference interpreter are the IR's DataValue.
#pragma once

#include "ir/data_value.h"

namespace dlc::ref {
using RtValue = DataValue;
}  // namespace dlc::ref
