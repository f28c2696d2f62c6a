# cmake -DSOURCE_DIR=… -DOUT=… [-DREVISION=…] -P BuildRevision.cmake
# Writes OUT (a header defining CDC_GIT_REVISION) with the git revision of SOURCE_DIR, or
# REVISION when given (an image build has no .git); rewritten only when it changes, so that a
# build after a commit names the new revision and an unchanged one recompiles nothing.
if(REVISION)
  set(rev "${REVISION}")
else()
  execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY "${SOURCE_DIR}"
                  OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT rev)
    set(rev "unknown")
  endif()
endif()
set(content "#define CDC_GIT_REVISION \"${rev}\"\n")
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL content)
  file(WRITE "${OUT}" "${content}")
endif()
