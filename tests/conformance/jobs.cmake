# The job-execution conformance runner (run-jobs.c): runs every
# <suite>/jobs/*.test.yaml of the corpus with `drover run`.  Included from
# tests/conformance/CMakeLists.txt; one ctest test per suite.
add_executable(conformance-run-jobs ${CMAKE_CURRENT_SOURCE_DIR}/run-jobs.c)
target_link_libraries(conformance-run-jobs PRIVATE drover_model)
target_compile_definitions(conformance-run-jobs PRIVATE
  DROVER_DEFAULT_SHARED="${CMAKE_SOURCE_DIR}/../shared")
add_dependencies(conformance-run-jobs drover)

foreach(suite IN ITEMS base TASK_CHUNKING REDACTED_ENV_VARS FEATURE_BUNDLE_1
                       EXPR)
  add_test(NAME conformance/jobs-run-${suite}
           COMMAND conformance-run-jobs ${suite})
  set_tests_properties(conformance/jobs-run-${suite} PROPERTIES
    SKIP_RETURN_CODE 77
    TIMEOUT 900
    ENVIRONMENT "DROVER_BIN=$<TARGET_FILE:drover>")
endforeach()
