# bench/run.sh passes this file as CMAKE_PROJECT_INCLUDE only while the
# top-level CMakeLists.txt does not add bench/ itself (option RK_BENCH).
# CMake runs it right after project(); it defers reading
# bench/CMakeLists.txt to the end of the top-level file, once renraku_lib
# and renraku exist.  (A deferred call may not add_subdirectory, hence
# include: bench/CMakeLists.txt names its files by CMAKE_CURRENT_LIST_DIR
# so it works both ways.)
cmake_language(EVAL CODE
  "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL include [[${CMAKE_CURRENT_LIST_DIR}/CMakeLists.txt]])")
