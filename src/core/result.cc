#include "core/result.h"

namespace cdc {

const char* toString(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Retry:
      return "retry";
    case ErrorKind::Poison:
      return "poison";
    case ErrorKind::NotFound:
      return "not_found";
    case ErrorKind::Fatal:
      return "fatal";
  }
  return "unknown";
}

}  // namespace cdc
