# Fails when clang-format would change any C source of the project.
file(GLOB_RECURSE sources RELATIVE ${SOURCE_DIR}
  ${SOURCE_DIR}/include/*.h ${SOURCE_DIR}/zpool/*.[ch] ${SOURCE_DIR}/backends/*.[ch]
  ${SOURCE_DIR}/tests/*.[ch] ${SOURCE_DIR}/fuzz/*.[ch] ${SOURCE_DIR}/stress/*.[ch]
  ${SOURCE_DIR}/bench/*.[ch] ${SOURCE_DIR}/bench/*.cc ${SOURCE_DIR}/zoo/*.[ch] ${SOURCE_DIR}/cli/*.[ch])
execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${sources}
  WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-format: the files above are not formatted; run clang-format -i on them")
endif()
