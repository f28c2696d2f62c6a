# One function to declare a library and one to declare a test, so each folder's
# CMakeLists.txt stays a few lines.

# GCC 12 gives false positives for these: partial aggregate initialisation, and -Wrestrict on
# string concatenation (GCC bug 105329).
set(CDC_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND CDC_WARNINGS -Wno-maybe-uninitialized -Wno-restrict)
endif()
if(CDC_WERROR)
  list(APPEND CDC_WARNINGS -Werror)
endif()

# cdc_library(NAME SOURCES a.cc b.cc DEPS other_lib ...)
function(cdc_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${CDC_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# A test's own code is compiled at -O1 in an optimised build: the libraries and the `cdc` it
# tests keep the build's -O3, and the test code (GoogleTest's macros, the fixtures) compiles in
# about 30% less time (tests/unit/services/analytics_test.cc: 10.0 s at -O3, 7.5 s at -O1).
set(CDC_TEST_OPTIMIZATION "$<$<CONFIG:Release,RelWithDebInfo>:-O1>")

# cdc_test(NAME SOURCES a_test.cc DEPS lib ... LABELS unit [PROPERTIES ctest properties ...])
function(cdc_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS;PROPERTIES" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${CDC_WARNINGS} ${CDC_TEST_OPTIMIZATION})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} cdc_test_environment GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" ${ARG_PROPERTIES} DISCOVERY_TIMEOUT 60)
endfunction()
