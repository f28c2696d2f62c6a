#include "runtime/member.h"

#include <unistd.h>

namespace cdc::runtime {

std::string memberName() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host) + "/" + std::to_string(::getpid());
}

}  // namespace cdc::runtime
