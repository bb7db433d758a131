# The command's tests in the Windows build (docs/windows.md), run under Wine (label `windows`):
# its parsers' unit tests, the demo, a short simulator run, and suites of the Python tests with
# freezeframe.exe as the binary, through a wrapper that starts it under Wine.
file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/tmp)
foreach(name cli_parse_test script_parser_test vss_listing_test)
  add_executable(${name} ${name}.cpp)
  freezeframe_target_settings(${name})
  target_link_libraries(${name} PRIVATE freezeframe_cli_lib GTest::gtest GTest::gtest_main)
  add_test(NAME windows.${name} COMMAND ${name} --gtest_brief=1)
  set_tests_properties(windows.${name} PROPERTIES LABELS "windows;cli" TIMEOUT 300)
endforeach()

add_test(NAME windows.cli.demo COMMAND freezeframe_cli demo --seed 42)
add_test(NAME windows.cli.sim
         COMMAND freezeframe_cli sim --seeds 1-4 --steps 300 --scratch ${CMAKE_CURRENT_BINARY_DIR}/tmp)
set_tests_properties(windows.cli.demo windows.cli.sim PROPERTIES LABELS "windows;cli" TIMEOUT 600)

# The Python suites start the binary they are given; this one starts freezeframe.exe in the
# Wine that CTest uses for everything else. The interpreter is named by its path, not by the
# imported target, which CTest would start through Wine too.
set(wine_binary ${CMAKE_CURRENT_BINARY_DIR}/freezeframe-wine)
file(GENERATE OUTPUT ${wine_binary}
     CONTENT "#!/bin/sh\nexec ${CMAKE_CROSSCOMPILING_EMULATOR} $<TARGET_FILE:freezeframe_cli> \"$@\"\n"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ
                      WORLD_EXECUTE)
function(add_windows_cli_suite script prefix)
  foreach(test_class ${ARGN})
    add_test(NAME windows.${prefix}.${test_class}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/${script}
                     --binary ${wine_binary} ${test_class})
    set_tests_properties(windows.${prefix}.${test_class} PROPERTIES LABELS "windows;cli"
      ENVIRONMENT "FREEZEFRAME_TEST_TMPDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp;FREEZEFRAME_TEST_WINDOWS=1"
      TIMEOUT 900)
  endforeach()
endfunction()
add_windows_cli_suite(cli_test.py cli ScriptTest)
add_windows_cli_suite(vss_test.py cli.vss VssUnavailableTest)
